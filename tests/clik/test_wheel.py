"""The wheel works on its own: built from this checkout, installed (not editable) in a fresh
virtual environment, `clik db up`, `clik db migrate`, `clik env` and `clik db stop` run in an
empty directory, far from the sources.

To stay fast the new environment installs the wheel alone (`--no-deps`) and finds the
dependencies in this environment's site-packages through a `.pth` line; such a line adds only
that directory to `sys.path` (its own `.pth` files, the editable install's among them, are not
run), so `clik` and its migrations can only come from the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".clik", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


def run(*command: str | Path, **options) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=600, **options
    )
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of this checkout (as it is in the work tree), built as `pip wheel`
    builds it: setuptools writes build/ and *.egg-info beside the sources, so not here."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPOSITORY, source, symlinks=True, ignore=IGNORED)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist", source)
    [built] = (work / "dist").glob("clik-*.whl")
    return built


def test_the_wheel_carries_the_migrations_queries_and_dagster_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(path.name for path in (REPOSITORY / "sql").glob("*.sql"))
    assert {f"clik_sql/{name}" for name in migrations} <= names
    queries = sorted(path.name for path in (REPOSITORY / "clik" / "queries").glob("*.sql"))
    assert queries and {f"clik/queries/{name}" for name in queries} <= names
    assert {"clik/cli/dagster.yaml", "clik/cli/workspace.yaml"} <= names
    pipeline_sql = sorted(
        str(path.relative_to(REPOSITORY)) for path in (REPOSITORY / "clik_pipeline").rglob("*.sql")
    )
    assert pipeline_sql and set(pipeline_sql) <= names  # every domain's sql/ and the shared one
    # The packaged Dagster files are the repository's (symbolic links in the checkout).
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("clik/cli/dagster.yaml") == (REPOSITORY / "dagster.yaml").read_bytes()


def test_the_installed_wheel_migrates_a_database_in_an_empty_directory(
    wheel: Path, tmp_path: Path
) -> None:
    environment = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", environment)
    python = environment / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel)
    site_packages = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    dependencies = Path(sysconfig.get_paths()["purelib"])
    (Path(site_packages.stdout.strip()) / "clik-test-dependencies.pth").write_text(
        f"{dependencies}\n"
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    home = tmp_path / "home"
    variables = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))},
        "CLIK_HOME": str(home),
        "PYTHONPATH": "",
        "PATH": f"{environment / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    clik = environment / "bin" / "clik"

    def clik_command(*args: str) -> subprocess.CompletedProcess[str]:
        return run(clik, *args, cwd=empty, env=variables)

    where = run(python, "-c", "import clik, clik_sql; print(clik.__file__, clik_sql.__file__)",
                cwd=empty, env=variables).stdout.split()  # fmt: skip
    assert all(Path(path).is_relative_to(environment) for path in where), where

    # The code location loads from the wheel alone (no pyproject.toml: domains are listed, not
    # autoloaded) and reads its SQL from the installed package.
    loaded = run(
        python,
        "-c",
        "from clik_pipeline.definitions import defs; from clik_pipeline.defs.daily import "
        "aggregation; import clik_pipeline; print(len(defs.resolve_all_job_defs()), "
        "clik_pipeline.__file__, len(aggregation.queries.text('lock_daily_tables')))",
        cwd=empty,
        env=variables,
    ).stdout.split()
    assert int(loaded[0]) >= 5 and Path(loaded[1]).is_relative_to(environment), loaded
    assert int(loaded[2]) > 0

    try:
        up = clik_command("db", "up")
        url = up.stdout.strip().splitlines()[-1]
        migrations = sorted(path.name for path in (REPOSITORY / "sql").glob("*.sql"))
        assert f"migrations: {len(migrations)} applied" in up.stderr
        with psycopg.connect(url) as conn:
            applied = [n for (n,) in conn.execute("SELECT name FROM schema_migrations ORDER BY 1")]
            assert applied == migrations
            # The last statement of every migrate: day partitions around today exist.
            assert (
                conn.execute(
                    "SELECT count(*) FROM pg_inherits WHERE inhparent = 'analytics_page_views'::regclass"
                ).fetchone()[0]
                > 14
            )
        again = clik_command("db", "migrate")
        assert "migrations: 0 applied, schema up to date" in again.stderr

        exports = clik_command("env").stdout
        assert f"export CLIK_DATABASE_URL={url}" in exports.replace("'", "")
        instance = (home / "dagster" / "dagster.yaml").read_bytes()  # the packaged copy
        assert instance.startswith((REPOSITORY / "dagster.yaml").read_bytes())
    finally:
        stopped = clik_command("db", "stop")
    assert "embedded PostgreSQL stopped" in stopped.stderr
    assert list(empty.iterdir()) == []  # nothing was written where the commands ran
