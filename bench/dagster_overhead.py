"""What Dagster costs over the CLI: one `warehouse run` and one run of the Dagster job
`everything` (in process, as `make ui` would run it) on the same inputs, each on a
new DuckDB warehouse, median wall time of N rounds.

    python -m bench.dagster_overhead --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from samples.events import EventConfig, write_events
from samples.marketplace_files import write_sample_inbox

EVERYTHING_JOB = """
from dagster import DagsterInstance
from orchestration.definitions import build_definitions
job = build_definitions("duckdb").resolve_job_def("everything")
result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
raise SystemExit(0 if result.success else 1)
"""
# the sample inbox holds bad files on purpose: `warehouse run` exits 3 on it
ACCEPTED_EXIT = {"warehouse run": {0, 3}, "dagster everything": {0}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="dagster-overhead-"))
    write_sample_inbox(folder / "inbox")
    write_events(EventConfig(customers=150, days=2), folder / "events", progress=False)
    commands = {
        "warehouse run": [str(Path(sys.executable).with_name("warehouse")), "run", "--quiet"],
        "dagster everything": [sys.executable, "-c", EVERYTHING_JOB],
    }
    seconds = {name: [] for name in commands}
    for round_number in range(args.rounds):
        for name, command in commands.items():
            warehouse = folder / f"{name.replace(' ', '-')}-{round_number}"
            seconds[name].append(_timed(name, command, _environment(folder, warehouse)))
    cli, dagster = (statistics.median(seconds[name]) for name in commands)
    print(f"warehouse run        {cli:6.1f} s (median of {args.rounds})")
    print(f"dagster everything   {dagster:6.1f} s  ({dagster / cli:.2f}x the CLI)")
    return 0


def _environment(folder: Path, warehouse: Path) -> dict[str, str]:
    """A new warehouse with its own copy of the inputs (a run moves bad files away)."""
    for inbox in ("inbox", "events"):
        shutil.copytree(folder / inbox, warehouse / inbox)
    return {
        **os.environ,
        "WAREHOUSE_DUCKDB": str(warehouse / "warehouse.duckdb"),
        "WAREHOUSE_DLT_DIR": str(warehouse / "dlt"),
        "WAREHOUSE_INBOX": str(warehouse / "inbox"),
        "WAREHOUSE_EVENTS": str(warehouse / "events"),
    }


def _timed(name: str, command: list[str], environment: dict[str, str]) -> float:
    started = time.monotonic()
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    if finished.returncode not in ACCEPTED_EXIT[name]:
        raise SystemExit(f"{name} failed ({finished.returncode}): {finished.stderr[-2000:]}")
    return time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
