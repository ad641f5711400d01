"""Time the trailing-4-hour attention query: median and p95 over N runs.

One connection, as a BI tool keeps one; each run asks for a different as-of
time (seeded) inside the data, so no run merely repeats a cached answer. The query
is `warehouse attention --as-of`'s: the model `attention_trailing_4h` as dbt
compiles it, compiled once (dbt takes seconds) with the as-of swapped in per run.

    python -m bench.attention_query --target postgres --runs 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from contextlib import closing

from orchestration.attention import _connect, _fetch, compiled_model, trailing_window

PLACEHOLDER = dt.datetime(2000, 1, 1)  # an as-of no data has, replaced in every run


def data_range(connection, target: str) -> tuple[dt.datetime, dt.datetime]:
    statement = "select min(minute_start), max(minute_start) from marts.attention_article_minute"
    if target == "duckdb":
        return connection.execute(statement).fetchone()
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchone()


def _literal(moment: dt.datetime) -> str:
    return f"'{moment:%Y-%m-%dT%H:%M:%S}'"


def model_as_of(target: str):
    """The model's SQL for any as-of: dbt's compiled text with the as-of literal swapped."""
    sql = compiled_model(target, PLACEHOLDER)
    assert sql.count(_literal(PLACEHOLDER)) == 1, "the model no longer reads the as-of once"
    return lambda as_of: f"(\n{sql.replace(_literal(PLACEHOLDER), _literal(as_of))}\n)"


def time_queries(target: str, runs: int, top: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    relation = model_as_of(target)
    with closing(_connect(target)) as connection:
        first, last = data_range(connection, target)
        span = (last - first).total_seconds()
        seconds = []
        for _ in range(runs):
            as_of = first + dt.timedelta(seconds=rng.uniform(4 * 3600, span))
            _, end = trailing_window(as_of)
            statement = relation(end)
            began = time.perf_counter()
            _fetch(connection, target, statement, top)
            seconds.append(time.perf_counter() - began)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attention_query")
    parser.add_argument("--target", choices=("duckdb", "postgres"), default="postgres")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--top", type=int, default=100)
    args = parser.parse_args(argv)
    seconds = time_queries(args.target, args.runs, args.top)
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[max(0, int(round(0.95 * len(ms))) - 1)]
    median = statistics.median(ms)
    print(
        f"trailing-4h query on {args.target}, {len(ms)} runs: "
        f"median {median:.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
