"""`--target spark` against a Spark Thrift server (the way dbt reaches a cluster):
a real HiveThriftServer2 started from pip's pyspark on localhost, with its own
metastore and tables in the test's folder. The ingest lands raw as Parquet in the
lake; dbt builds through the server; the marts reconcile with the independent
pandas model of the contract."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import spark_env
from reference import Expected

from orchestration.cli import main as cli_main
from orchestration.errors import EXIT_OK, EXIT_REJECTED_INPUT
from samples.marketplace_files import write_redeliveries, write_sample_inbox

pytestmark = pytest.mark.spark
START_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serving(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def thrift_server(tmp_path_factory):
    """HiveThriftServer2 on a free localhost port; stopped (its process group) after."""
    folder = tmp_path_factory.mktemp("thrift")
    server_dir = folder / "server"
    server_dir.mkdir()
    port = _free_port()
    import pyspark

    # pip's pyspark is a whole Spark: its scripts find themselves through SPARK_HOME
    spark_home = Path(pyspark.__file__).parent
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--master", "local[2]",
        "--conf", f"spark.sql.warehouse.dir={server_dir / 'tables'}",
        "--conf", "spark.hadoop.javax.jdo.option.ConnectionURL="
        f"jdbc:derby:;databaseName={server_dir / 'metastore_db'};create=true",
        "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={server_dir}",
        "--conf", "spark.sql.shuffle.partitions=4",
        "--conf", "spark.ui.enabled=false",
        "spark-internal",
        "--hiveconf", f"hive.server2.thrift.port={port}",
        "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
    ]  # fmt: skip
    log = (server_dir / "server.log").open("w")
    environment = {**os.environ, "SPARK_HOME": str(spark_home), "PYSPARK_PYTHON": sys.executable}
    server = subprocess.Popen(  # noqa: S603 - our own command line
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _serving(port):
            if server.poll() is not None or time.monotonic() > deadline:
                said = (server_dir / "server.log").read_text()
                pytest.fail(f"the Thrift server did not start: {said}")
            time.sleep(1)
        yield folder, port
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """The server and the JVM spark-submit started, as one process group."""
    for signal_number, wait_seconds in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, signal_number)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait_seconds)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def built_through_thrift(thrift_server):
    folder, port = thrift_server
    inbox = folder / "inbox"
    expected = Expected()
    with spark_env(folder), pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_SPARK_THRIFT_HOST", "127.0.0.1")
        patch.setenv("WAREHOUSE_SPARK_THRIFT_PORT", str(port))
        codes = []
        for write_batch in (write_sample_inbox, write_redeliveries):
            write_batch(inbox)
            expected.add_batch(inbox)
            codes.append(cli_main(["run", "--target", "spark", "--inbox", str(inbox), "--json"]))
        from conftest import query

        yield expected, codes, query


def test_a_cluster_builds_the_same_marts_through_its_thrift_server(built_through_thrift):
    expected, codes, query = built_through_thrift
    # the sample inbox holds bad files on purpose: the rest loads, the exit code says so;
    # they are in quarantine by the second run, which finds only good re-deliveries
    assert codes == [EXIT_REJECTED_INPUT, EXIT_OK]
    sku_sales = expected.sku_sales()
    rows = query(
        "spark",
        "select marketplace_code, country_code, report_date, seller_id, sku_id, units_sold, gmv "
        "from marts.sku_sales",
    )
    # the Thrift protocol sends dates and decimals as text
    actual = {(*row[:2], str(row[2]), *row[3:5]): (row[5], Decimal(row[6])) for row in rows}
    wanted = {
        (r.marketplace_code, r.country_code, str(r.report_date), r.seller_id, r.sku_id): (
            r.units_sold,
            r.gmv,
        )
        for r in sku_sales.itertuples(index=False)
    }
    assert actual == wanted
    # the tables are the server's: in its warehouse folder, none in a local session's
    assert not (Path(os.environ.get("WAREHOUSE_SPARK_DIR", "/nonexistent")) / "tables").exists()
