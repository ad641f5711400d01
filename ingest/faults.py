"""Fault injection for the reliability tests: `WAREHOUSE_FAULT_INJECT=<point>` makes
the process SIGKILL itself when it reaches that point, so a test can stop a run
at an exact step and check that the next run recovers. Unset in normal use.

Points: `ingest:after_prepare` (files read and staged, nothing extracted),
`ingest:after_extract`, `ingest:after_normalize` (a package waits to load),
`ingest:after_load` (loaded, bad files not yet quarantined), the same four as
`rates:...` for the exchange-rate ingest (which runs first), and
`dbt:after:<node name>` (dbt has just finished that model or test).
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "WAREHOUSE_FAULT_INJECT"


def injected_fault() -> str | None:
    return os.environ.get(FAULT_VARIABLE) or None


def fault_point(name: str) -> None:
    """Die here, as abruptly as a power cut, if the tests asked for it."""
    if injected_fault() == name:
        os.kill(os.getpid(), signal.SIGKILL)
