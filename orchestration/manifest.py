"""dbt's manifest for Dagster: parsed where the definitions load, again only when a
file of the dbt project changed since."""

from __future__ import annotations

from pathlib import Path

from ingest import settings

from .dbt_build import dbt_args, dbt_environment, target_path

PROJECT_FILES = ("*.yml", "*.sql", "*.csv", "*.md")


def prepared_manifest(target: str) -> Path:
    manifest = target_path(target) / "manifest.json"
    if not manifest.exists() or _project_changed_since(manifest.stat().st_mtime):
        _parse(target)
    return manifest


def _project_changed_since(moment: float) -> bool:
    project = settings.DBT_PROJECT_DIR
    for pattern in PROJECT_FILES:
        for path in project.rglob(pattern):
            if path.parts[len(project.parts)] in ("target", "logs", "dbt_packages"):
                continue
            if path.stat().st_mtime > moment:
                return True
    return False


def _parse(target: str) -> None:
    from dbt.cli.main import dbtRunner

    with dbt_environment(target):
        result = dbtRunner().invoke(dbt_args(["parse"], target))
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception or 'see the dbt log'}")
