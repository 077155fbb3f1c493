"""The numbered migrations, installed as the package `clik_sql` (setup.py maps this directory):
`clik.migrations` applies its `NNNN_snake_case.sql` files in order."""
