"""`warehouse`: the command line over the ingest (dlt) and the transform (dbt)."""

from __future__ import annotations

import argparse
import os
import sys

from ingest import settings

from . import jobs

DESCRIPTION = """\
ELT warehouse for marketplace sales files.

  warehouse ingest --inbox data/inbox     land new delivery files in raw (dlt)
  warehouse build                         dbt build: staging, marts, tests
  warehouse run --inbox data/inbox        both, in that order
  warehouse demo                          sample files -> raw -> marts, on DuckDB

Every command takes --target duckdb (default; file $WAREHOUSE_DUCKDB,
default data/warehouse.duckdb)
or postgres (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
Exit codes: 0 ok, 1 a step failed, 3 input was rejected (the rest loaded).
"""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    summary = jobs.RunSummary()
    try:
        if args.command == "demo":
            summary = jobs.demo(args.target, args.inbox)
        else:
            if args.command in ("ingest", "run"):
                jobs.ingest(args.inbox, args.target, summary)
            if args.command in ("build", "run"):
                jobs.build(args.target, summary, quiet=args.quiet)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return jobs.EXIT_FAILED
    summary.print()
    if args.command == "demo":
        print("  (the demo inbox holds bad files on purpose; see its _quarantine/ folder)")
        return jobs.EXIT_FAILED if summary.exit_code() == jobs.EXIT_FAILED else jobs.EXIT_OK
    return summary.exit_code()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warehouse",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("ingest", "land new marketplace files from an inbox in the raw schema"),
        ("build", "run dbt build (seeds, models, snapshots, tests)"),
        ("run", "ingest, then dbt build"),
        ("demo", "generate sample files and run the whole pipeline"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--target",
            choices=settings.TARGETS,
            default=os.environ.get("WAREHOUSE_TARGET", "duckdb"),
            help="warehouse to use (default: duckdb, or $WAREHOUSE_TARGET)",
        )
        if name in ("ingest", "run"):
            command.add_argument(
                "--inbox",
                default=os.environ.get(
                    "WAREHOUSE_INBOX", str(settings.PROJECT_ROOT / "data" / "inbox")
                ),
                help="folder or bucket URL (s3://, gs://, az://, file://) holding delivery files "
                "(default: $WAREHOUSE_INBOX or data/inbox)",
            )
        if name == "demo":
            command.add_argument(
                "--inbox",
                default=None,
                help="where to write the sample files (default: data/demo_inbox)",
            )
        if name in ("build", "run"):
            command.add_argument(
                "--quiet", action="store_true", help="hide dbt's per-node log lines"
            )
    return parser


if __name__ == "__main__":
    sys.exit(main())
