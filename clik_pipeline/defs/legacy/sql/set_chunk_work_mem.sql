-- A chunk's rows are read several times: keep them in memory.
SET LOCAL work_mem = '64MB'
