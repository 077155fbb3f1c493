SELECT FROM pg_database WHERE datname = %(name)s
