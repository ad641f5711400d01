"""`warehouse attention`: the most-viewed articles over the trailing 4 hours.

Reads the per-minute pre-aggregate `marts.attention_article_minute` (on
PostgreSQL an index range scan over 240 minutes), never the events. The window
is [t - 4h, t) with t the as-of time truncated to the minute, as in the
`attention_trailing_4h` model.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from dataclasses import dataclass

from ingest import settings

WINDOW = dt.timedelta(hours=4)

# Values are bound as parameters; the statement itself is a constant.
TRAILING_QUERY = """
select
    minutes.article_id,
    products.article_name,
    sum(minutes.details_view_count) as details_view_count,
    sum(minutes.transaction_item_count) as transaction_item_count
from marts.attention_article_minute as minutes
left join marts.dim_product as products
    on minutes.article_id = products.article_id
where minutes.minute_start >= {placeholder} and minutes.minute_start < {placeholder}
group by minutes.article_id, products.article_name
order by details_view_count desc, transaction_item_count desc, minutes.article_id
limit {placeholder}
"""


@dataclass(frozen=True)
class TrailingAttention:
    window_start: dt.datetime
    window_end: dt.datetime
    rows: list[tuple[str, str | None, int, int]]  # article, name, views, order lines


def trailing_window(as_of: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """[t - 4h, t) in naive UTC, t = as_of (default now) truncated to the minute."""
    moment = as_of or dt.datetime.now(dt.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    end = moment.replace(second=0, microsecond=0)
    return end - WINDOW, end


def trailing_attention(
    target: str, as_of: dt.datetime | None = None, top: int = 100
) -> TrailingAttention:
    start, end = trailing_window(as_of)
    with closing(_connect(target)) as connection:
        rows = _fetch(connection, target, (start, end, top))
    return TrailingAttention(start, end, [tuple(row) for row in rows])


def _connect(target: str):
    if target == "duckdb":
        import duckdb

        return duckdb.connect(str(settings.duckdb_path()), read_only=True)
    import psycopg2

    pg = settings.postgres_settings()
    return psycopg2.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.database
    )


def _fetch(connection, target: str, parameters: tuple) -> list:
    placeholder = "?" if target == "duckdb" else "%s"
    statement = TRAILING_QUERY.format(placeholder=placeholder)
    if target == "duckdb":
        return connection.execute(statement, parameters).fetchall()
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
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
