-- The first day that still has a day partition of an event table (possibly empty).
SELECT min(to_date(right(c.relname, 8), 'YYYYMMDD')) AS earliest
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('analytics_page_views'::regclass, 'analytics_clicks'::regclass)
  AND c.relname ~ '_p[0-9]{8}$'
