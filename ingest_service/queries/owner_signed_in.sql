-- Whether the token set for this transaction names an active owner.
SELECT clik_current_owner() IS NOT NULL
