"""`warehouse docs`: dbt's documentation site of a built warehouse (`dbt docs
generate`, optionally `dbt docs serve`). The catalog reads the warehouse's
relations, so build it first (`make docs` uses the demo warehouse)."""

from __future__ import annotations

from pathlib import Path

from ingest import settings

from .dbt_build import _environment, _first_line, dbt_args, target_path
from .errors import UserError


def generate_docs(target: str) -> Path:
    """Write the site (index.html, manifest.json, catalog.json); returns its folder."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    with _environment(settings.dbt_environment(target)):
        result = dbtRunner().invoke(dbt_args(["docs", "generate"], target))
    if not result.success:
        problem = result.exception or "see dbt's log"
        raise UserError(
            f"dbt docs generate failed on {settings.describe_warehouse(target)}: "
            f"{_first_line(problem)}",
            f"build the warehouse first (warehouse build --target {target}); "
            f"dbt's log is in {settings.dbt_log_dir()}",
        )
    return target_path(target)


def serve_docs(target: str, host: str, port: int) -> None:
    """Serve the generated site until interrupted (Ctrl-C)."""
    from dbt.cli.main import dbtRunner

    args = dbt_args(["docs", "serve"], target) + [
        "--host",
        host,
        "--port",
        str(port),
        "--no-browser",
    ]
    # dbt prints nothing useful while serving; say where to look instead
    args[args.index("--log-level") + 1] = "warn"
    with _environment(settings.dbt_environment(target)):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise UserError(
            f"dbt docs serve failed: {_first_line(result.exception or 'see dbt log')}",
            f"is port {port} free? try --port with another number",
        )
