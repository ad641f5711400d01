"""`make ui` end to end: the Dagster webserver and daemon over orchestration/definitions.py,
driven through the GraphQL API the UI itself uses, and a screenshot of the asset graph
from headless Chromium (a test artifact, and the README's picture)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import duckdb_env

from orchestration.definitions import WAREHOUSE_TAG, build_definitions
from samples.events import EventConfig, write_events

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "data" / "test-artifacts"))
CHROMIUM = shutil.which("chromium")
START_SECONDS = 300  # the code location parses the dbt project first: slow on a 2-core CI
RUN_SECONDS = 900
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

ASSETS = "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"
REPOSITORIES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    name location { name }
    jobs { name }
    schedules { name cronSchedule executionTimezone pipelineName scheduleState { status } }
    sensors { name targets { pipelineName } sensorState { status } }
} } } }"""
LAUNCH = """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
} }"""
RUN = """query Run($id: ID!) { runOrError(runId: $id) { ... on Run {
    runId jobName status startTime endTime tags { key value }
} } }"""
WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
} } } }"""


@dataclass
class Ui:
    port: int
    folder: Path
    warehouse: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`make ui` on a free port, over a new DuckDB warehouse, an empty marketplace inbox
    (so the sensor starts nothing: the tests launch the runs) and a day of events."""
    folder = tmp_path_factory.mktemp("ui")
    (folder / "inbox").mkdir()
    write_events(EventConfig(customers=50, days=1), folder / "events", progress=False)
    environment = {
        **os.environ,
        "WAREHOUSE_TARGET": "duckdb",
        "WAREHOUSE_DUCKDB": str(folder / "warehouse.duckdb"),
        "WAREHOUSE_DLT_DIR": str(folder / "dlt"),
        "WAREHOUSE_INBOX": str(folder / "inbox"),
        "WAREHOUSE_EVENTS": str(folder / "events"),
    }
    port = _free_port()
    log_path = folder / "make-ui.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "ui",
                f"UI_PORT={port}",
                f"DAGSTER_HOME={folder}/home",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole below
        )
    try:
        ui = Ui(port, folder, folder / "warehouse.duckdb")
        _wait_until_loaded(ui, process, log_path)
        yield ui
    finally:
        _stop_process_group(process)


def test_the_ui_shows_the_asset_graph_the_definitions_hold(ui, monkeypatch):
    nodes = {tuple(node["assetKey"]["path"]): node for node in ui.graphql(ASSETS)["assetNodes"]}
    with duckdb_env(ui.folder):  # the same warehouse as the UI's, so the same manifest
        monkeypatch.setenv("WAREHOUSE_DUCKDB", str(ui.warehouse))
        graph = build_definitions("duckdb").resolve_asset_graph()
    assert set(nodes) == {tuple(key.path) for key in graph.get_all_asset_keys()}
    staging = nodes[("staging", "stg_marketplace__sales_rows")]
    assert staging["dependencyKeys"] == [{"path": ["raw", "marketplace_sales_rows"]}]
    assert staging["groupName"] == "staging"
    assert {node["groupName"] for node in nodes.values()} >= {
        "inbox",
        "raw",
        "staging",
        "intermediate",
        "marts",
    }


def test_the_ui_lists_the_jobs_the_schedule_and_the_sensor(ui):
    (repository,) = ui.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
    jobs = {job["name"] for job in repository["jobs"]}
    assert {"everything", "marketplace_files", "web_shop_events", "attention_refresh"} <= jobs
    schedules = {schedule["name"]: schedule for schedule in repository["schedules"]}
    assert set(schedules) == {"attention_every_4_hours", "everything_nightly"}
    schedule = schedules["attention_every_4_hours"]
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == ("0 */4 * * *", "UTC")
    assert schedule["pipelineName"] == "attention_refresh"
    assert schedule["scheduleState"]["status"] == "RUNNING"  # on from the start
    (sensor,) = repository["sensors"]
    assert [target["pipelineName"] for target in sensor["targets"]] == ["marketplace_files"]
    assert sensor["sensorState"]["status"] == "RUNNING"


def test_two_jobs_launched_at_once_succeed_one_after_the_other(ui):
    """Launched together, as two users clicking at once: the run queue starts the
    second run of the warehouse only when the first one has ended."""
    (repository,) = ui.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
    run_ids = [_launch(ui, repository, job) for job in ("marketplace_files", "attention_refresh")]
    runs = [_wait_for_run(ui, run_id) for run_id in run_ids]

    assert [run["status"] for run in runs] == ["SUCCESS", "SUCCESS"], _log_tail(ui)
    first, second = sorted(runs, key=lambda run: run["startTime"])
    assert first["endTime"] <= second["startTime"]
    tags = [{tag["key"]: tag["value"] for tag in run["tags"]} for run in runs]
    assert tags[0][WAREHOUSE_TAG] == tags[1][WAREHOUSE_TAG]  # the queue's key
    with duckdb.connect(str(ui.warehouse), read_only=True) as connection:
        (minutes,) = connection.execute(
            "select count(*) from marts.attention_article_minute"
        ).fetchone()
        (sku_sales,) = connection.execute("select count(*) from marts.sku_sales").fetchone()
    assert minutes > 0  # the attention run built its marts from the day of events
    assert sku_sales == 0  # the marketplace run built its marts; its inbox was empty


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it): no screenshot",
)
def test_screenshots_of_the_asset_graph(ui):
    """The whole graph by layer, and one mart's lineage back to the inbox (the README's
    picture), after the runs above: the assets they built show as materialised."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "dagster-asset-graph.png": ("asset-groups", "staging"),
        "dagster-sku-sales-lineage.png": (
            "assets/marts/sku_sales?view=lineage&lineageScope=upstream&lineageDepth=10",
            "marketplace_files",
        ),
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, (path, shown) in pages.items():
                page.goto(f"{ui.url}/{path}")
                _dismiss_welcome(page)
                page.get_by_text(shown, exact=True).last.wait_for(timeout=60_000)
                page.wait_for_load_state("networkidle")  # the assets' statuses too
                page.wait_for_timeout(5_000)  # the layout and the statuses fade in
                page.screenshot(path=str(ARTIFACTS / name))
        finally:
            browser.close()
    for name in pages:  # a rendered graph, not a blank page
        assert (ARTIFACTS / name).stat().st_size > 20_000, name


def _dismiss_welcome(page) -> None:
    """A new browser profile first sees Dagster's newsletter dialog: skip it."""
    from playwright.sync_api import TimeoutError as NotShown

    with contextlib.suppress(NotShown):  # no dialog this time: nothing to dismiss
        page.get_by_role("button", name="Skip").click(timeout=5_000)


def _launch(ui: Ui, repository: dict, job: str) -> str:
    selector = {
        "repositoryLocationName": repository["location"]["name"],
        "repositoryName": repository["name"],
        "jobName": job,
    }
    launched = ui.graphql(LAUNCH, {"params": {"selector": selector}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _wait_for_run(ui: Ui, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run = ui.graphql(RUN, {"id": run_id})["runOrError"]
        if run["status"] in TERMINAL:
            return run
        time.sleep(2)
    pytest.fail(f"run {run_id} did not end in {RUN_SECONDS} s:\n{_log_tail(ui)}")


def _wait_until_loaded(ui: Ui, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make ui exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            entries = ui.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError):
            entries = []  # not listening yet
        for entry in entries:
            if entry["locationOrLoadError"]["__typename"] == "PythonError":
                pytest.fail(f"the definitions did not load: {entry['locationOrLoadError']}")
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            return
        time.sleep(1)
    pytest.fail(f"the UI did not start in {START_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def _stop_process_group(process: subprocess.Popen) -> None:
    """dagster dev takes a while to stop its webserver, daemon and code server after
    SIGTERM: give the whole group that long, then kill what is left."""
    group = process.pid  # start_new_session: the group's id is the leader's pid
    with contextlib.suppress(ProcessLookupError):  # the leader (make) may have exited
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # anything of the group still running
    process.wait(timeout=10)


def _log_tail(ui: Ui) -> str:
    return (ui.folder / "make-ui.log").read_text()[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
