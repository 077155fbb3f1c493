SELECT pg_advisory_unlock_shared(1668049259, 20)
