-- The first statement of a batch's transaction: upserts EVERY session the batch touches, in
-- session_id order, and so takes all the batch's session row locks in one fixed order before
-- insert_events.sql fires the counter triggers (0003), which touch only rows already locked:
-- concurrent batches wait for each other on their first shared session instead of
-- deadlocking. insert_events.sql runs as a second statement so that its snapshot is taken
-- after these locks were granted: it sees what a batch it waited for committed.
--
-- Rows come as one JSON array (far cheaper for the service to send than one array parameter
-- per column). Returns the sessions inserted or changed: the answer counts a session event as
-- accepted when its session is among them, as a duplicate otherwise.
--
-- Session events (merged per session) and stub sessions built from page views and clicks
-- whose session event is not in the batch. A stub never changes a stored session (the
-- triggers widen it for the events really inserted): on conflict it only locks the row (ON
-- CONFLICT DO UPDATE locks every conflicting row, even those its WHERE skips). A session event
-- keeps first_seen earliest and last_seen latest and fills fields still missing; it updates
-- the row only when that changes something, so a retried batch writes nothing.
INSERT INTO analytics_sessions AS s
    (session_id, user_code, share_code, contact_id, first_seen, last_seen,
     ip_address, user_agent, referrer)
SELECT batch.*
FROM json_to_recordset(%(sessions)s::json)
     AS batch (session_id text, user_code text, share_code text, contact_id text,
               first_seen timestamptz, last_seen timestamptz, ip_address text,
               user_agent text, referrer text)
ORDER BY batch.session_id
ON CONFLICT (session_id) DO UPDATE SET
    first_seen  = least(s.first_seen, excluded.first_seen),
    last_seen   = greatest(s.last_seen, excluded.last_seen),
    share_code  = coalesce(s.share_code, excluded.share_code),
    contact_id  = coalesce(s.contact_id, excluded.contact_id),
    ip_address  = coalesce(s.ip_address, excluded.ip_address),
    user_agent  = coalesce(s.user_agent, excluded.user_agent),
    referrer    = coalesce(s.referrer, excluded.referrer),
    -- the late-data sensor looks for sessions whose start moved to an earlier day
    received_at = CASE WHEN excluded.first_seen < s.first_seen THEN now()
                       ELSE s.received_at END
WHERE excluded.session_id = ANY (%(session_event_ids)s::text[])
  AND (excluded.first_seen < s.first_seen
       OR excluded.last_seen > s.last_seen
       OR (s.share_code IS NULL AND excluded.share_code IS NOT NULL)
       OR (s.contact_id IS NULL AND excluded.contact_id IS NOT NULL)
       OR (s.ip_address IS NULL AND excluded.ip_address IS NOT NULL)
       OR (s.user_agent IS NULL AND excluded.user_agent IS NOT NULL)
       OR (s.referrer IS NULL AND excluded.referrer IS NOT NULL))
RETURNING session_id
