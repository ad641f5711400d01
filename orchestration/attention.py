"""`warehouse attention`: the most-viewed articles over the trailing 4 hours.

The numbers are those of the dbt model `attention_trailing_4h`, the one definition of
the window ([t - 4h, t), t the as-of time truncated to the minute) and of the ranking:
as of now, its view `marts.attention_trailing_4h`; as of another time, the model's SQL
compiled by dbt with the var `attention_as_of`. Here only the article names and the
cut to the top rows are added.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ingest import settings

from .dbt_build import dbt_args, dbt_environment, target_path
from .errors import UserError

MODEL = "attention_trailing_4h"
WINDOW = dt.timedelta(hours=4)

# {relation} is the view or the model's compiled SQL, both dbt's; values are bound.
TOP_QUERY = """
select
    attention.article_id,
    products.article_name,
    attention.details_view_count,
    attention.transaction_item_count,
    attention.window_start,
    attention.window_end
from {relation} as attention
left join marts.dim_product as products
    on attention.article_id = products.article_id
order by attention.attention_rank
limit {placeholder}
"""


@dataclass(frozen=True)
class TrailingAttention:
    window_start: dt.datetime
    window_end: dt.datetime
    rows: list[tuple[str, str | None, int, int]]  # article, name, views, order lines


def trailing_window(as_of: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """[t - 4h, t) in naive UTC, t = as_of (default now) truncated to the minute: the
    model's window, for the heading of a window without rows (rows carry their own)."""
    moment = _naive_utc(as_of or dt.datetime.now(dt.UTC))
    end = moment.replace(second=0, microsecond=0)
    return end - WINDOW, end


def trailing_attention(
    target: str, as_of: dt.datetime | None = None, top: int = 100
) -> TrailingAttention:
    """The top articles of the trailing 4 hours as of `as_of` (default: the view, as
    of now), ranked by the model."""
    # connected first: a missing warehouse fails before dbt's seconds of parsing
    with closing(_connect(target)) as connection:
        rows = _fetch(connection, target, _relation(target, as_of), top)
    start, end = (rows[0][4], rows[0][5]) if rows else trailing_window(as_of)
    return TrailingAttention(start, end, [tuple(row[:4]) for row in rows])


def _relation(target: str, as_of: dt.datetime | None) -> str:
    if as_of is None:
        return f"marts.{MODEL}"
    # the newline ends the model's last line, should it be a -- comment
    return f"(\n{compiled_model(target, as_of)}\n)"


def compiled_model(target: str, as_of: dt.datetime) -> str:
    """The model's SQL as of `as_of`, rendered by dbt (`dbt compile`, in-process).

    dbt only renders here: without its relation cache it never connects, so the query
    runs on this module's own read-only connection on both engines. `dbt show` would run
    it through dbt-duckdb, which opens the file read-write (creating a missing one, and
    holding it against a running build), and its --limit cuts before any order."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    # to the minute, as the model reads it: the same var again reuses the parse
    variables = {"attention_as_of": f"{_naive_utc(as_of):%Y-%m-%dT%H:%M}:00"}
    command = ["compile", "--select", MODEL, "--indirect-selection", "empty"]  # not its tests
    args = dbt_args([*command, "--vars", json.dumps(variables), "--no-populate-cache"], target)
    # a folder of its own: the build's artifacts stay as built, and the next call with
    # the same as-of reuses dbt's partial parse (other vars mean a full parse)
    args[args.index("--target-path") + 1] = str(_compile_path(target))
    with dbt_environment(target):
        result = dbtRunner().invoke(args)
    nodes = [r.node for r in getattr(result.result, "results", None) or [] if r.node.name == MODEL]
    if not result.success or not nodes:
        problem = result.exception or "the project has no such model"
        raise UserError(
            f"dbt could not compile the model {MODEL}: {str(problem).strip()}",
            f"dbt's log is under {settings.dbt_log_dir()}",
        )
    return nodes[0].compiled_code


def _compile_path(target: str) -> Path:
    built = target_path(target)
    return built.with_name(f"{built.name}-{MODEL}")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _connect(target: str):
    if target == "duckdb":
        from .read_marts import open_duckdb_read_only

        return open_duckdb_read_only(settings.duckdb_path())
    from .postgres import connect

    return connect(application_name="warehouse attention", role="reporter")


def _fetch(connection, target: str, relation: str, top: int) -> list:
    if target == "duckdb":
        statement = TOP_QUERY.format(relation=relation, placeholder="?")
        return connection.execute(statement, (top,)).fetchall()
    # psycopg2 reads every % as a placeholder, comments and literals included
    statement = TOP_QUERY.format(relation=relation.replace("%", "%%"), placeholder="%s")
    with connection.cursor() as cursor:
        cursor.execute(statement, (top,))
        return cursor.fetchall()


def format_table(result: TrailingAttention) -> str:
    header = (
        f"Most-viewed articles, {result.window_start:%Y-%m-%d %H:%M} to "
        f"{result.window_end:%Y-%m-%d %H:%M} UTC"
    )
    if not result.rows:
        return header + "\n  (no detail views in this window)"
    lines = [header, f"{'rank':>4}  {'article':<14} {'name':<42} {'views':>7} {'ordered':>8}"]
    for rank, (article, name, views, ordered) in enumerate(result.rows, start=1):
        shown = (name or "")[:42]
        lines.append(f"{rank:>4}  {article:<14} {shown:<42} {views:>7,} {ordered:>8,}")
    return "\n".join(lines)
