"""Timing child processes, and the fresh warehouses they run against."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
WAREHOUSE = str(Path(sys.executable).parent / "warehouse")


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    stdout: str = ""


@dataclass
class Timing:
    """The median of several runs of one command, each on a state of its own."""

    seconds: float
    peak_rss_mb: float
    runs: list[float]


def run_process(
    command: list[str], env: dict[str, str] | None = None, *, capture: bool = False
) -> Measure:
    """Wall time and peak RSS of one child process (and nothing else)."""
    # files, not pipes: a full pipe would block the child while we sit in wait4
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            stdout=output if capture else subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        errors.seek(0)
        output.seek(0)
        stderr = errors.read().decode(errors="replace")
        stdout = output.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):  # 3: some input rejected, still a completed run
        raise RuntimeError(f"{command[:3]} exited {code}: {stderr[-2000:]}")
    return Measure(seconds, usage.ru_maxrss / 1024, stdout)


def median_of(
    repeat: int,
    prepare: Callable[[], dict],
    command: Callable[[dict], list[str]],
    cleanup: Callable[[dict], None] | None = None,
) -> Timing:
    """Median wall time over `repeat` fresh runs; `prepare` resets state, returns env."""
    measures = []
    for _ in range(repeat):
        env = prepare()
        measures.append(run_process(command(env), env))
        if cleanup:
            cleanup(env)
    return timing_of(measures)


def timing_of(measures: list[Measure]) -> Timing:
    seconds = [m.seconds for m in measures]
    return Timing(statistics.median(seconds), max(m.peak_rss_mb for m in measures), seconds)


def target_args(env: dict[str, str]) -> list[str]:
    if "WAREHOUSE_SPARK_DIR" in env:
        return ["--target", "spark"]
    return ["--target", "postgres"] if "PGDATABASE" in env else []


# --- fresh warehouses -----------------------------------------------------------------


class Workspace:
    """Inputs (cached across runs with --workdir) and the warehouses made for one run."""

    def __init__(self, root: Path):
        self.root = root
        self.databases: list[str] = []
        self.empty_inbox = root / "empty-inbox"
        self.empty_inbox.mkdir(parents=True, exist_ok=True)

    def duckdb_env(self) -> dict[str, str]:
        folder = self.root / f"w-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return {
            "WAREHOUSE_DUCKDB": str(folder / "warehouse.duckdb"),
            "WAREHOUSE_DLT_DIR": str(folder / "dlt"),
        }

    def spark_env(self) -> dict[str, str]:
        """A Spark warehouse (raw lake, tables, local metastore) in a folder of its own."""
        folder = self.root / f"s-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return {
            "WAREHOUSE_SPARK_DIR": str(folder / "spark"),
            "WAREHOUSE_DLT_DIR": str(folder / "dlt"),
        }

    def postgres_env(self) -> dict[str, str]:
        name = f"warehouse_bench_{uuid.uuid4().hex[:10]}"
        psql("postgres", f'create database "{name}"')
        self.databases.append(name)
        folder = self.root / name
        folder.mkdir()
        return {"PGDATABASE": name, "WAREHOUSE_DLT_DIR": str(folder / "dlt"), **pg_defaults()}

    def first_ingest(self, env: dict[str, str]) -> Measure:
        """The one-time setup of a new warehouse: raw tables and the bundled ECB rates."""
        command = [WAREHOUSE, "ingest", "--json", *target_args(env), "--inbox"]
        return run_process([*command, str(self.empty_inbox)], env, capture=True)

    def initialised(self, env: dict[str, str]) -> dict[str, str]:
        """`env` after the first ingest, so a timed ingest measures only its own files."""
        self.first_ingest(env)
        return env

    def discard(self, env: dict[str, str]) -> None:
        """Drop a warehouse as soon as it is measured: ten 10M-row copies fill a disk."""
        name = env.get("PGDATABASE")
        if name in self.databases:
            psql("postgres", f'drop database if exists "{name}" with (force)')
            self.databases.remove(name)
        shutil.rmtree(Path(env["WAREHOUSE_DLT_DIR"]).parent, ignore_errors=True)

    def close(self) -> None:
        for name in self.databases:
            psql("postgres", f'drop database if exists "{name}" with (force)')
        self.databases.clear()


def pg_defaults() -> dict[str, str]:
    defaults = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}
    return {key: os.environ.get(key, value) for key, value in defaults.items()}


def psql(database: str, statement: str) -> None:
    env = {**os.environ, **pg_defaults()}
    subprocess.run(
        ["psql", "-q", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement],
        env=env,
        check=True,
        capture_output=True,
    )


def postgres_available() -> bool:
    env = {**os.environ, **pg_defaults()}
    return subprocess.run(["pg_isready", "-q"], env=env).returncode == 0


def summary(measure: Measure) -> dict:
    """The JSON summary a `--json` command printed, or {} if it printed none."""
    try:
        parsed = json.loads(measure.stdout)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
