"""Freshness checks of the raw tables the ingest writes: `dbt source freshness`, so the
thresholds (the freshness vars in dbt_project.yml) and the loaded-at rules stay in dbt
and Dagster shows the same verdict as `warehouse run`."""

from collections.abc import Iterator
from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)
from dagster_dbt import DbtCliResource

from .assets import raw_key
from .dbt_build import (
    FRESHNESS_ARTIFACT,
    FreshnessReport,
    SourceFreshness,
    dbt_environment,
    freshness_in_sources_json,
    target_path,
)
from .resources import Warehouse

CHECK_NAME = "source_freshness"
SEVERITY = {"warn": AssetCheckSeverity.WARN, "error": AssetCheckSeverity.ERROR}


@dataclass(frozen=True)
class FreshSource:
    """A dbt source table with a freshness rule, and the raw asset it is."""

    name: str  # source_name.table_name, as dbt names it
    asset: AssetKey


def fresh_sources(manifest: dict, written: set[AssetKey]) -> list[FreshSource]:
    """The dbt sources with a freshness rule over a raw table that `written` holds."""
    sources = []
    for node in manifest["sources"].values():
        rule = node.get("freshness") or {}
        bounds = [rule.get(bound) or {} for bound in ("warn_after", "error_after")]
        if all(bound.get("count") is None for bound in bounds):
            continue
        asset = raw_key(node["identifier"] or node["name"])
        if asset in written:
            sources.append(FreshSource(f"{node['source_name']}.{node['name']}", asset))
    return sorted(sources, key=lambda source: source.name)


def raw_freshness_checks(manifest: dict, written: set[AssetKey]):
    """One `source_freshness` check per raw table with a rule in dbt; a job runs those of
    the tables it ingests, after the ingest."""
    sources = fresh_sources(manifest, written)
    by_asset = {source.asset: source for source in sources}

    @multi_asset_check(
        name="raw_freshness",
        specs=[
            AssetCheckSpec(
                CHECK_NAME,
                asset=source.asset,
                description=f"dbt source freshness of {source.name} (warn or error "
                "after the hours set in dbt_project.yml).",
            )
            for source in sources
        ],
        can_subset=True,
    )
    def raw_freshness(
        context: AssetCheckExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ) -> Iterator[AssetCheckResult]:
        selected = [by_asset[key.asset_key] for key in _sorted(context.selected_asset_check_keys)]
        report = _dbt_source_freshness(dbt, warehouse.target, [source.name for source in selected])
        found = {result.source: result for result in report.sources}
        for source in selected:
            yield _result(source, found.get(source.name), report.problem)

    return raw_freshness


def _dbt_source_freshness(dbt: DbtCliResource, target: str, sources: list[str]) -> FreshnessReport:
    """`dbt source freshness` of those sources in a dbt process of its own (an in-process
    dbt would keep the DuckDB file open for the steps after it)."""
    selection = ["--select", " ".join(f"source:{source}" for source in sources)]
    with dbt_environment(target):
        invocation = dbt.cli(
            ["source", "freshness", *selection],
            raise_on_error=False,
            target_path=target_path(target),
        ).wait()
    try:
        return freshness_in_sources_json(invocation.get_artifact(FRESHNESS_ARTIFACT))
    except FileNotFoundError:  # dbt stopped before it checked anything
        return FreshnessReport(problem="dbt source freshness failed; see the dbt log")


def _sorted(keys) -> list[AssetCheckKey]:
    return sorted(keys, key=lambda key: key.asset_key.path)


def _result(
    source: FreshSource, found: SourceFreshness | None, problem: str | None
) -> AssetCheckResult:
    if found is None:
        return AssetCheckResult(
            asset_key=source.asset,
            check_name=CHECK_NAME,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=f"not checked: {problem or 'dbt reported nothing for this source'}",
        )
    facts = found.as_dict()
    return AssetCheckResult(
        asset_key=source.asset,
        check_name=CHECK_NAME,
        # a table never loaded is not stale: a warehouse may take one kind of input only
        passed=not found.stale,
        severity=SEVERITY.get(found.status, AssetCheckSeverity.WARN),
        description=found.line() if found.stale else None,
        metadata={key: value for key, value in facts.items() if value is not None},
    )
