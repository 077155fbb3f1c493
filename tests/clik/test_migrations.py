import re
import shutil
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest

from clik.errors import ClikError
from clik.migrations import FILE_NAME, MIGRATIONS, discover, migrate

REPOSITORY = Path(__file__).resolve().parents[2]
SQL_DIR = REPOSITORY / "sql"  # installed as the package clik_sql


def copied_migrations(tmp_path: Path) -> Path:
    """A directory holding a copy of the installed migrations, for a test to change."""
    directory = tmp_path / "sql"
    directory.mkdir()
    for migration in discover():
        (directory / migration.name).write_bytes(migration.sql)
    return directory


def in_git_checkout() -> bool:
    return shutil.which("git") is not None and (REPOSITORY / ".git").exists()


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPOSITORY), *args], capture_output=True, text=True, check=True
    ).stdout


def applied_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def test_migration_files_are_numbered_snake_case_sql() -> None:
    names = sorted(path.name for path in SQL_DIR.iterdir() if path.name != "__init__.py")
    assert names, "sql/ holds no migrations"
    for name in names:
        assert FILE_NAME.match(name), f"{name} is not NNNN_lower_snake_case.sql"
    versions = [int(name[:4]) for name in names]
    assert versions[0] == 1
    assert len(set(versions)) == len(versions), "two migrations share a version"


def test_the_installed_migrations_are_the_repository_sql_directory() -> None:
    """clik reads its migrations from the package clik_sql (sql/ mapped by setup.py), with
    importlib.resources: in this checkout, exactly the files of sql/."""
    assert sorted(m.name for m in discover()) == sorted(p.name for p in SQL_DIR.glob("*.sql"))
    assert (
        MIGRATIONS.joinpath("0001_roles.sql").read_bytes()
        == (SQL_DIR / "0001_roles.sql").read_bytes()
    )


def test_all_migrations_apply_to_an_empty_database_and_again_do_nothing(
    empty_database_url: str,
) -> None:
    expected = [migration.name for migration in discover()]
    assert migrate(empty_database_url) == expected
    assert migrate(empty_database_url) == []
    assert applied_versions(empty_database_url) == [m.version for m in discover()]


def test_an_edited_applied_migration_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    directory = copied_migrations(tmp_path)
    migrate(empty_database_url, directory)
    edited = directory / "0004_daily_tables.sql"
    edited.write_text(edited.read_text() + "\n-- a later edit\n")
    with pytest.raises(
        ClikError, match=re.escape("0004_daily_tables.sql was edited after it was applied")
    ):
        migrate(empty_database_url, directory)


def test_a_migration_the_checkout_does_not_know_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = copied_migrations(tmp_path)
    (directory / "0999_from_the_future.sql").write_text("SELECT 1;")
    migrate(empty_database_url, directory)
    with pytest.raises(
        ClikError, match=re.escape("0999_from_the_future.sql, which sql/ does not contain")
    ):
        migrate(empty_database_url)


def test_a_failing_migration_leaves_nothing_behind(empty_database_url: str, tmp_path: Path) -> None:
    directory = copied_migrations(tmp_path)
    (directory / "0998_half_done.sql").write_text("CREATE TABLE half_done (id int);\nSELECT 1/0;\n")
    with pytest.raises(
        ClikError, match=re.escape("migration 0998_half_done.sql failed: division by zero")
    ):
        migrate(empty_database_url, directory)
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
    assert 998 not in applied_versions(empty_database_url)
    assert len(applied_versions(empty_database_url)) == len(discover())


def test_badly_named_migrations_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_Raw-Tables.sql").write_text("SELECT 1;")
    with pytest.raises(ClikError, match=re.escape("not named NNNN_lower_snake_case.sql")):
        discover(tmp_path)


def test_two_concurrent_migrations_apply_everything_once(empty_database_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(empty_database_url))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(result) for result in results) == [0, len(discover())]
    assert applied_versions(empty_database_url) == [m.version for m in discover()]


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(ClikError, match="cannot reach PostgreSQL"):
        migrate("postgresql://nobody@127.0.0.1:1/nothing")


# Added below a higher number before this test existed; databases migrated in between applied
# them out of order, which is harmless for these four (none depends on a later one).
ADDED_OUT_OF_ORDER = {10, 11, 12, 31}


def test_a_new_migration_numbers_above_every_migration_added_before_it() -> None:
    """A migration applies after every one already released, so its number must say so: a
    database migrated earlier would otherwise apply it after higher ones (procrastinate's
    rule). Read from git history: the order in which migration files were added."""
    if not in_git_checkout():
        pytest.skip("not a git checkout: the order migrations were added in is unknown")
    log = git("log", "--diff-filter=A", "--format=commit %H", "--name-only", "--reverse",
              "--", "sql/")  # fmt: skip
    highest = 0
    for line in log.splitlines():
        match = FILE_NAME.match(Path(line).name) if line.startswith("sql/") else None
        if match is None:
            continue
        version = int(match["version"])
        if version in ADDED_OUT_OF_ORDER:
            continue
        assert version > highest, (
            f"{line} was added after migration {highest:04d}: number it above every "
            "migration added before it"
        )
        highest = version


def test_migrations_added_on_a_branch_number_above_every_migration_on_main() -> None:
    """procrastinate's rule, checked before a merge: every migration this checkout has (work
    tree included) that main did not have where this branch left it must number above all of
    main's. On main itself, that is every migration not committed yet."""
    if not in_git_checkout():
        pytest.skip("not a git checkout: main's migrations are unknown")
    for main in ("origin/main", "main"):
        if subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "--verify", "--quiet",
                           f"{main}^{{commit}}"], capture_output=True).returncode == 0:  # fmt: skip
            break
    else:
        pytest.skip("no main branch to compare with")
    base = git("merge-base", "HEAD", main).strip()
    on_main = {Path(name).name for name in git("ls-tree", "--name-only", base, "sql/").split()}
    highest_on_main = max(int(m["version"]) for n in on_main if (m := FILE_NAME.match(n)))
    added = sorted(path.name for path in SQL_DIR.glob("*.sql") if path.name not in on_main)
    low = [name for name in added if int(name[:4]) <= highest_on_main]
    assert low == [], (
        f"{', '.join(low)}: a migration added after main's {highest_on_main:04d} must number "
        f"above it (a database migrated from main would apply it out of order)"
    )
