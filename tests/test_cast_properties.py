"""Property tests of the staging casts (macros clean_text, text_to_integer,
text_to_decimal, text_to_date, rfc3339_to_utc), compiled by dbt for DuckDB and
for PostgreSQL and run over generated text: they never raise, the two engines
agree on every value, and a typed value is what Python reads in the same text."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from contextlib import closing
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import _pg_connect, duckdb_env, postgres_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import settings as warehouse_settings
from orchestration.dbt_build import _environment

BLANKS = " \t\n\r\u00a0\u2007\u202f\ufeff"
WHOLE = re.compile(r"[+-]?0*[0-9]{1,18}")
DECIMAL = re.compile(r"[+-]?0*([0-9]{1,13}(\.[0-9]*)?|\.[0-9]+)")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FOUR_PLACES = Decimal("0.0001")


def _compile_probe(target: str, folder: Path) -> str:
    from dbt.cli.main import dbtRunner

    project = warehouse_settings.DBT_PROJECT_DIR
    target_path = folder / "target"
    args = ["compile", "--select", "staging_casts_probe", "--project-dir", str(project)]
    args += ["--profiles-dir", str(project), "--target", target, "--target-path", str(target_path)]
    with _environment(warehouse_settings.dbt_environment(target)):
        result = dbtRunner().invoke([*args, "--log-level", "none"])
    assert result.success, result.exception
    return next(target_path.rglob("staging_casts_probe.sql")).read_text()


@pytest.fixture(scope="module")
def engines():
    """Run the compiled probe over values on each engine: values -> rows by probe_id."""
    with tempfile.TemporaryDirectory() as folder:
        with duckdb_env(Path(folder)):
            duckdb_sql = _compile_probe("duckdb", Path(folder))
        with postgres_env(Path(folder)) as database:
            postgres_sql = _compile_probe("postgres", Path(folder))
            pg = _pg_connect(database)
            pg.autocommit = True

            def run_duckdb(values: list[str]) -> list[tuple]:
                with closing(duckdb.connect()) as connection:
                    connection.execute("create table probe_values (probe_id int, value varchar)")
                    connection.executemany(
                        "insert into probe_values values (?, ?)", list(enumerate(values))
                    )
                    return connection.execute(f"{duckdb_sql} order by probe_id").fetchall()

            def run_postgres(values: list[str]) -> list[tuple]:
                with pg.cursor() as cursor:
                    cursor.execute("drop table if exists probe_values")
                    cursor.execute("create table probe_values (probe_id int, value text)")
                    cursor.executemany(
                        "insert into probe_values values (%s, %s)", list(enumerate(values))
                    )
                    cursor.execute(f"{postgres_sql} order by probe_id")
                    return cursor.fetchall()

            yield run_duckdb, run_postgres
            pg.close()


# text that PostgreSQL can store (no NUL, no lone surrogates), biased towards what
# the casts must tell apart: numbers, days, timestamps, blanks around them
storable = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
numbers = st.from_regex(r"[+-]?0{0,3}[0-9]{0,20}(\.[0-9]{0,8})?", fullmatch=True)
days = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)
times = st.from_regex(
    r"[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"([Zz]|[+-][01][0-9]:[0-5][0-9])",
    fullmatch=True,
)
padded = st.tuples(st.sampled_from(["", " ", "\u00a0", "\t", "\ufeff "]), numbers | days).map(
    lambda pair: f"{pair[0]}{pair[1]}{pair[0]}"
)
values = st.lists(storable | numbers | days | times | padded, min_size=1, max_size=40)


def _python_reading(text: str) -> tuple:
    cleaned = text.strip(BLANKS) or None
    if cleaned is None:
        return None, None, None, None
    whole = int(cleaned) if WHOLE.fullmatch(cleaned) else None
    decimal = None
    if DECIMAL.fullmatch(cleaned):
        decimal = Decimal(cleaned).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
    day = None
    if DAY.fullmatch(cleaned):
        try:
            day = dt.date.fromisoformat(cleaned)
        except ValueError:
            day = None
    return cleaned, whole, decimal, day


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=values)
def test_casts_never_raise_agree_between_engines_and_with_python(engines, values):
    run_duckdb, run_postgres = engines
    on_duckdb, on_postgres = run_duckdb(values), run_postgres(values)
    assert len(on_duckdb) == len(on_postgres) == len(values)
    for text, duck_row, pg_row in zip(values, on_duckdb, on_postgres, strict=True):
        assert duck_row == pg_row, repr(text)
        _, cleaned, whole, decimal, day, _ = duck_row
        assert (cleaned, whole, decimal, day) == _python_reading(text), repr(text)
