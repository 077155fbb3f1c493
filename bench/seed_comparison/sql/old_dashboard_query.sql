-- The seed's "OLD SYSTEM - Dashboard Query", verbatim: a card's views and clicks of the last
-- 30 days, from the one-JSONB-row-per-event table.
SELECT
  event_data->>'userCode',
  COUNT(*) FILTER (WHERE event_type = 'view'),
  COUNT(*) FILTER (WHERE event_type = 'click')
FROM analytics_events
WHERE event_data->>'userCode' = 'myclik'
  AND created_at >= CURRENT_DATE - INTERVAL '30 days'
GROUP BY event_data->>'userCode'
