"""BI on a read replica: a streaming standby of a PostgreSQL cluster this test creates
(initdb, pg_basebackup -R -X stream) follows the primary the pipeline writes; reporter
reads the current marts on the standby and every write there is refused.

The test owns both clusters (temp folders, free ports) and stops and deletes them
afterwards; it never touches the machine's own server. The server binaries refuse
to run as root, so as root they run as the user postgres (runuser).
"""

from __future__ import annotations

import contextlib
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from orchestration.cli import main as cli_main
from samples.marketplace_files import write_redeliveries, write_sample_inbox


def _server_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _server_user() -> list[str] | None:
    """How to run the server binaries: as ourselves unless root, then as postgres."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else None


BIN = _server_bin()
AS_SERVER_USER = _server_user()
pytestmark = pytest.mark.skipif(
    BIN is None or AS_SERVER_USER is None or shutil.which("psql") is None,
    reason="needs PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup), psql, "
    "and the user postgres when run as root",
)
MARTS_CHECKED = ("sku_sales", "seller", "sku", "marketplace_file_deliveries")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server(*command: str, timeout: float = 120) -> None:
    subprocess.run(
        [*AS_SERVER_USER, *command], check=True, capture_output=True, text=True, timeout=timeout
    )


def _start(data: Path, port: int, options: str) -> None:
    # fsync off: a throw-away cluster need not survive a power cut
    options += f" -p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(data / "server.log")
    _server(str(BIN / "pg_ctl"), "-D", str(data), "-l", log, "-o", options, "-w", "start")


def _stop(data: Path) -> None:
    with contextlib.suppress(subprocess.SubprocessError):
        _server(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)


@pytest.fixture(scope="module")
def clusters():
    """A primary (wal_level=replica) and its streaming standby, on free ports, in a
    folder of /tmp the server user can enter (pytest's own is private to us)."""
    folder = Path(tempfile.mkdtemp(prefix="warehouse-replica-"))
    folder.chmod(0o755)
    primary, standby = folder / "primary", folder / "standby"
    for data in (primary, standby):
        data.mkdir(mode=0o700)
        if AS_SERVER_USER:
            shutil.chown(data, "postgres", "postgres")
    ports = {"primary": _free_port(), "standby": _free_port()}
    try:
        _server(str(BIN / "initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust")
        _start(primary, ports["primary"], "-c wal_level=replica -c max_wal_senders=4")
        _server(
            str(BIN / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(ports["primary"]), "-U", "postgres"),
            *("-D", str(standby), "-R", "-X", "stream"),
        )
        _start(standby, ports["standby"], "-c hot_standby=on")
        yield ports
    finally:
        for data in (standby, primary):
            if (data / "postmaster.pid").exists():
                _stop(data)
        shutil.rmtree(folder, ignore_errors=True)


def _psql(port: int, user: str, statement: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "psql",
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            "warehouse",
            "-c",
            statement,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={key: value for key, value in os.environ.items() if not key.startswith("PG")},
    )


def _figures(port: int, user: str) -> dict[str, str]:
    figures = {}
    for mart in MARTS_CHECKED:
        # the row count and a digest of every row, the same wherever the table is read
        digest = "md5(string_agg(t::text, '|' order by t::text))"
        result = _psql(port, user, f"select count(*), {digest} from marts.{mart} as t")  # noqa: S608
        assert result.returncode == 0, (mart, result.stderr)
        figures[mart] = result.stdout.strip()
    return figures


def _caught_up(clusters) -> None:
    """Wait until the standby has replayed everything the primary wrote."""
    target = _psql(clusters["primary"], "postgres", "select pg_current_wal_lsn()").stdout.strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        behind = _psql(
            clusters["standby"],
            "postgres",
            f"select pg_last_wal_replay_lsn() < '{target}'::pg_lsn",
        ).stdout.strip()
        if behind == "f":
            return
        time.sleep(0.2)
    pytest.fail(f"the standby did not replay up to {target} within 60 s")


def test_reporter_reads_the_current_marts_on_the_standby_and_cannot_write(
    clusters, tmp_path, monkeypatch
):
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(clusters["primary"]))
    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("PGDATABASE", "warehouse")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("WAREHOUSE_DLT_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("WAREHOUSE_LOG_DIR", str(tmp_path / "logs"))
    for role in ("LOADER", "TRANSFORMER", "REPORTER"):  # this cluster is the test's own
        monkeypatch.delenv(f"WAREHOUSE_{role}_ROLE", raising=False)
    inbox = tmp_path / "inbox"
    write_sample_inbox(inbox)
    run = ["run", "--target", "postgres", "--inbox", str(inbox), "--quiet"]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        codes = [cli_main(["init", "--target", "postgres"])]
        codes.append(cli_main(["setup-roles", "--target", "postgres"]))
        codes.append(cli_main(run))
    assert codes == [0, 0, 3], output.getvalue()  # 3: the sample inbox has bad files

    _caught_up(clusters)
    on_primary = _figures(clusters["primary"], "postgres")
    assert _figures(clusters["standby"], "reporter") == on_primary

    # a second delivery reaches the standby too: BI there sees the current marts
    write_redeliveries(inbox)
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        assert cli_main(run) == 0, output.getvalue()
    _caught_up(clusters)
    changed = _figures(clusters["primary"], "postgres")
    assert changed["sku_sales"] != on_primary["sku_sales"]
    assert _figures(clusters["standby"], "reporter") == changed

    for write in ("delete from marts.sku_sales", "create table marts.x (i int)"):
        refused = _psql(clusters["standby"], "postgres", write)  # even the superuser
        assert refused.returncode != 0 and "read-only transaction" in refused.stderr, write
    assert (
        "permission denied"
        in _psql(clusters["standby"], "reporter", "select count(*) from raw._dlt_loads").stderr
    )
