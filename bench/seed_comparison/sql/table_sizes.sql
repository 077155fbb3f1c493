-- Rows and on-disk size (heap + TOAST + indexes) of each table; a partitioned table counts its
-- partitions.
SELECT parent.relname AS table_name,
       sum(pg_total_relation_size(part.relid))::bigint AS total_bytes,
       sum(pg_relation_size(part.relid))::bigint AS heap_bytes,
       sum(pg_indexes_size(part.relid))::bigint AS index_bytes
FROM pg_class AS parent
CROSS JOIN LATERAL (
    SELECT relid FROM pg_partition_tree(parent.oid)
    UNION
    SELECT parent.oid  -- a plain table has no partition tree
) AS part
WHERE parent.relname = ANY(%(tables)s) AND parent.relkind IN ('r', 'p')
GROUP BY parent.relname
ORDER BY parent.relname
