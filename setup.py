"""What pyproject.toml cannot say: besides the packages found by name, the top-level `sql/`
directory (the numbered migrations, kept where the repository shows the schema) is shipped as
the package `clik_sql`, so wheels and non-editable installs carry it and `clik/migrations.py`
reads it with importlib.resources. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["clik*", "clik_pipeline*", "ingest_service*"]),
        "clik_sql",
    ],
    package_dir={"clik_sql": "sql"},
)
