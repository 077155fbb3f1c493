-- The owner whose rows row-level security shows for the rest of THIS transaction only
-- (is_local = true), so nothing of it survives on the pooled connection.
SELECT set_config('clik.owner_id', %(owner_id)s, true)
