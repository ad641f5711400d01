"""`warehouse setup-roles` on PostgreSQL: loader writes raw, transformer builds dbt's
schemas from raw, reporter reads the marts and nothing else. Checked the way BI and
operators would meet it: psql logged in as each role.

Roles live in the whole cluster, so the roles here have names of their own (the
WAREHOUSE_<ROLE>_ROLE settings) and are dropped afterwards with the test database.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from psycopg2 import sql

from ingest import settings
from orchestration.cli import main as cli_main
from orchestration.dbt_build import dbt_build
from samples.marketplace_files import write_redeliveries, write_sample_inbox
from tests.conftest import _pg_connect, postgres_env, query

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="needs the psql client")

EXIT_REJECTED_INPUT = 3  # the sample inbox holds bad files on purpose


@pytest.fixture(scope="module")
def roles_warehouse(tmp_path_factory):
    """A warehouse built once as PGUSER (as before roles existed), then handed to the
    roles by setup-roles and built again by them with the corrected re-deliveries."""
    folder = tmp_path_factory.mktemp("roles")
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"test_{suffix}_{role}" for role in settings.ROLES}
    passwords = {role: f"pw-{uuid.uuid4().hex}" for role in settings.ROLES}
    output = io.StringIO()
    try:
        with postgres_env(folder) as database, pytest.MonkeyPatch.context() as patch:
            patch.setenv("WAREHOUSE_LOG_DIR", str(folder / "logs"))
            for role in settings.ROLES:
                patch.setenv(f"WAREHOUSE_{role.upper()}_ROLE", names[role])
                patch.setenv(f"WAREHOUSE_{role.upper()}_PASSWORD", passwords[role])
            inbox = folder / "inbox"
            write_sample_inbox(inbox)
            run = ["run", "--target", "postgres", "--inbox", str(inbox), "--quiet"]
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                codes = [cli_main(run), cli_main(["setup-roles", "--target", "postgres"])]
                write_redeliveries(inbox)
                codes.append(cli_main(run))
            # the re-deliveries are all good: nothing rejected by the second run
            assert codes == [EXIT_REJECTED_INPUT, 0, 0], output.getvalue()
            yield {
                "database": database,
                "names": names,
                "passwords": passwords,
                "folder": folder,
                "output": output,
            }
    finally:
        _drop_roles(names.values())


def _drop_roles(names) -> None:
    """After the test database is gone, nothing of theirs is left to own or be granted."""
    with contextlib.closing(_pg_connect()) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def psql(warehouse: dict, role: str, statement: str) -> subprocess.CompletedProcess:
    """One statement in psql, logged in as the role."""
    env = {
        **os.environ,
        "PGUSER": warehouse["names"][role],
        "PGPASSWORD": warehouse["passwords"][role],
        "PGDATABASE": warehouse["database"],
    }
    return subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refused(warehouse: dict, role: str, statement: str) -> bool:
    result = psql(warehouse, role, statement)
    return result.returncode != 0 and (
        "permission denied" in result.stderr or "must be owner" in result.stderr
    )


def _relations(schema: str, kind: str = "BASE TABLE") -> list[str]:
    rows = query(
        "postgres",
        "select table_schema || '.' || table_name from information_schema.tables "  # noqa: S608
        f"where table_schema = '{schema}' and table_type = '{kind}' order by 1",
    )
    return [name for (name,) in rows]


def test_reporter_reads_every_mart_and_is_refused_everywhere_else(roles_warehouse):
    marts = _relations("marts")
    assert "marts.sku_sales" in marts and len(marts) >= 15
    for mart in marts:
        result = psql(roles_warehouse, "reporter", f"select count(*) from {mart}")  # noqa: S608
        assert result.returncode == 0, (mart, result.stderr)
    [(sku_sales_rows,)] = query("postgres", "select count(*) from marts.sku_sales")
    reported = psql(roles_warehouse, "reporter", "select count(*) from marts.sku_sales")
    assert int(reported.stdout) == sku_sales_rows > 0

    for other in (_relations("raw")[0], _relations("staging", "VIEW")[0]):
        assert refused(roles_warehouse, "reporter", f"select * from {other} limit 1")  # noqa: S608
    for write in (
        "insert into marts.seller select * from marts.seller limit 1",
        "update marts.sku_sales set units_sold = 0",
        "delete from marts.sku_sales",
        "create table marts.reporter_was_here (i int)",
        "drop table marts.sku_sales",
    ):
        assert refused(roles_warehouse, "reporter", write), write
    assert query("postgres", "select count(*) from marts.sku_sales") == [(sku_sales_rows,)]


def test_loader_writes_raw_and_cannot_touch_the_marts(roles_warehouse):
    assert refused(roles_warehouse, "loader", "select count(*) from marts.sku_sales")
    assert refused(roles_warehouse, "loader", "create table marts.loader_was_here (i int)")
    assert refused(roles_warehouse, "loader", "select count(*) from staging.stg_dlt__loads")
    assert psql(roles_warehouse, "loader", "select count(*) from raw._dlt_loads").returncode == 0
    # transformer reads raw but never writes it
    assert psql(roles_warehouse, "transformer", "select count(*) from raw._dlt_loads").stdout
    assert refused(roles_warehouse, "transformer", "delete from raw._dlt_loads")


def test_each_part_owns_what_it_writes_after_the_hand_over(roles_warehouse):
    names = roles_warehouse["names"]
    owners = dict(
        query(
            "postgres",
            "select schemaname, string_agg(distinct owner, ',') from ("
            "select schemaname, tableowner as owner from pg_tables union all "
            "select schemaname, viewowner from pg_views) as relations "
            "where schemaname in ('raw', 'raw_staging', 'staging', 'intermediate', "
            "'marts', 'snapshots', 'reference') group by schemaname",
        )
    )
    # raw_staging: dlt's merge stage of the ECB rates
    assert (owners.pop("raw"), owners.pop("raw_staging")) == (names["loader"],) * 2
    dbt_schemas = ("staging", "intermediate", "marts", "snapshots", "reference")
    assert owners == dict.fromkeys(dbt_schemas, names["transformer"])


def test_passwords_reach_the_server_hashed_and_are_never_printed_or_logged(roles_warehouse):
    names, passwords = roles_warehouse["names"], roles_warehouse["passwords"]
    stored = dict(
        query(
            "postgres",
            "select rolname, rolpassword from pg_authid where rolname in ("  # noqa: S608
            + ", ".join(f"'{name}'" for name in names.values())
            + ")",
        )
    )
    assert all(stored[name].startswith("SCRAM-SHA-256$") for name in names.values())
    printed = roles_warehouse["output"].getvalue()
    assert "role " + names["reporter"] in printed  # setup-roles said what it did
    written = [
        path.read_bytes() for path in Path(roles_warehouse["folder"]).rglob("*") if path.is_file()
    ]
    for password in passwords.values():
        assert password not in printed
        assert all(password.encode() not in content for content in written)


def test_setup_roles_again_changes_nothing_and_refuses_a_superuser(roles_warehouse, capsys):
    grants_before = _grants(roles_warehouse)
    assert cli_main(["setup-roles", "--target", "postgres"]) == 0
    assert "found" in capsys.readouterr().out
    assert _grants(roles_warehouse) == grants_before

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_REPORTER_ROLE", "postgres")
        assert cli_main(["setup-roles", "--target", "postgres"]) != 0
    error = capsys.readouterr().err
    assert "superuser" in error and len(error.strip().splitlines()) == 2
    assert _grants(roles_warehouse) == grants_before


def test_reporter_keeps_reading_the_marts_after_a_full_refresh(roles_warehouse):
    before = dict(query("postgres", "select relname, oid from pg_class where relname = 'sku'"))
    build = dbt_build("postgres", ["--full-refresh"], quiet=True)
    assert build.success, build.lines()
    after = dict(query("postgres", "select relname, oid from pg_class where relname = 'sku'"))
    assert after["sku"] != before["sku"]  # the table was replaced, its grants with it
    for mart in _relations("marts"):
        result = psql(roles_warehouse, "reporter", f"select 1 from {mart} limit 1")  # noqa: S608
        assert result.returncode == 0, (mart, result.stderr)


def _grants(warehouse: dict) -> list[tuple]:
    """Every table privilege of the test's roles (schema privileges: setup-roles
    grants those with the same statements)."""
    names = ", ".join(f"'{name}'" for name in warehouse["names"].values())
    return query(
        "postgres",
        "select grantee, table_schema, table_name, privilege_type "  # noqa: S608
        f"from information_schema.role_table_grants where grantee in ({names}) "
        "order by 1, 2, 3, 4",
    )
