"""The clik code location: the definitions of each domain of clik_pipeline/defs, merged, and
the one resource they share.

The domains are listed here rather than autoloaded (`dg.load_from_defs_folder`), because
autoloading reads the project's pyproject.toml at run time, which an installed wheel does not
have. Adding a job, an asset or a check is one line in its domain's definitions.py.
"""

from __future__ import annotations

from dagster import Definitions

from clik_pipeline.defs.daily import definitions as daily
from clik_pipeline.defs.legacy import definitions as legacy
from clik_pipeline.defs.raw import definitions as raw
from clik_pipeline.defs.retention import definitions as retention
from clik_pipeline.resources import ClikDatabase

# Modules, not their Definitions objects: Dagster refuses a module with more than one.
defs = Definitions.merge(
    raw.defs,
    daily.defs,
    retention.defs,
    legacy.defs,
    Definitions(resources={"database": ClikDatabase()}),
)
