"""Spark's local session, for the commands that read the warehouse outside dbt
(the summary's counts, report, export): the same settings as dbt's `spark` output
in profiles.yml, read from there so the two never differ."""

from __future__ import annotations

import functools
import logging
import os
import warnings

import jinja2
import yaml

from ingest import settings


def session_parameters() -> dict[str, str]:
    """The `server_side_parameters` of the profile's `spark` output, with its
    env_var() calls resolved as dbt resolves them for this warehouse."""
    environment = {**os.environ, **settings.dbt_environment("spark")}

    def env_var(name: str, default: str | None = None) -> str:
        if name in environment:
            return environment[name]
        if default is None:
            raise KeyError(f"profiles.yml reads {name}, which is not set")
        return default

    template = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {
        name: template.from_string(str(value)).render(env_var=env_var)
        for name, value in _spark_output()["server_side_parameters"].items()
    }


@functools.cache
def _spark_output() -> dict:
    profiles = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())
    return profiles["marketplace_warehouse"]["outputs"]["spark"]


def connect():
    """A DB-API connection (cursor, execute, fetchall, description): to the cluster's
    Thrift server where WAREHOUSE_SPARK_THRIFT_HOST names one, else on the local
    session (in a process that ran dbt, the very session dbt started)."""
    if settings.dbt_target_name("spark") == "spark_thrift":
        from pyhive import hive

        return hive.connect(
            host=os.environ["WAREHOUSE_SPARK_THRIFT_HOST"],
            port=int(os.environ.get("WAREHOUSE_SPARK_THRIFT_PORT", "10000")),
            username=os.environ.get("WAREHOUSE_SPARK_THRIFT_USER", "dbt"),
            configuration={"spark.sql.session.timeZone": "UTC"},
        )
    from dbt.adapters.spark.session import Connection

    return _Closable(Connection(server_side_parameters=session_parameters()))


class _Closable:
    """The local session outlives a connection to it: closing one closes nothing."""

    def __init__(self, connection) -> None:
        self._connection = connection

    def cursor(self):
        return self._connection.cursor()

    def close(self) -> None:
        pass


def quiet_pyspark() -> None:
    """PySpark logs a failed query's Java stack as JSON and warns about the pandas
    version on import; dbt reports the failure in one line, and the warning is not
    the user's to act on (the session never converts to pandas)."""
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
