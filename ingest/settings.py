"""Where the warehouse lives, read from the environment (never from literals or logs).

DuckDB: `WAREHOUSE_DUCKDB` (default `data/warehouse.duckdb` under the project).
PostgreSQL: the standard libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
the roles of `warehouse setup-roles` (loader, transformer, reporter) are named by
`WAREHOUSE_<ROLE>_ROLE` and log in with `WAREHOUSE_<ROLE>_PASSWORD`.
Spark: `WAREHOUSE_SPARK_DIR` (default data/spark): the raw Parquet lake, the tables
dbt builds and the local metastore of `method: session`.
Loading: `WAREHOUSE_DUCKDB_MEMORY_LIMIT` (DuckDB's memory_limit while loading raw,
default 512MB) and `WAREHOUSE_LOAD_WORKERS` (parallel dlt load jobs).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
TARGETS = ("duckdb", "postgres", "spark")
RAW_SCHEMA_NAME = "raw"


class SettingError(ValueError):
    """A setting from the environment that cannot be used; the message says which."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return (
            f"PostgresSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"database={self.database!r})"
        )


def duckdb_path() -> Path:
    configured = os.environ.get("WAREHOUSE_DUCKDB")
    path = Path(configured) if configured else PROJECT_ROOT / "data" / "warehouse.duckdb"
    return path.resolve()


def spark_dir() -> Path:
    """The Spark warehouse folder (`WAREHOUSE_SPARK_DIR`, default data/spark): `lake/`
    holds raw as dlt writes it, `tables/` what dbt builds, `metastore_db/` the local
    session's catalog. Absolute, so every process finds the same metastore."""
    configured = os.environ.get("WAREHOUSE_SPARK_DIR")
    path = Path(configured) if configured else PROJECT_ROOT / "data" / "spark"
    return path.resolve()


def spark_raw_url() -> str:
    """Where dlt lands raw for Spark: `WAREHOUSE_SPARK_RAW_URL` (a bucket URL a cluster
    reads) or the `lake` folder of spark_dir()."""
    configured = os.environ.get("WAREHOUSE_SPARK_RAW_URL")
    return configured or (spark_dir() / "lake").as_uri()


def dbt_target_name(target: str) -> str:
    """The profiles.yml output a target builds with: Spark through a cluster's Thrift
    server when WAREHOUSE_SPARK_THRIFT_HOST names one, else a local session."""
    if target == "spark" and os.environ.get("WAREHOUSE_SPARK_THRIFT_HOST"):
        return "spark_thrift"
    return target


def published_duckdb_path() -> Path:
    """The read-only copy of the marts for BI and notebooks (`warehouse publish`):
    `WAREHOUSE_PUBLISHED_DUCKDB`, default `<warehouse>_marts.duckdb` beside the
    warehouse file. Not `marts.duckdb`: DuckDB names a file's catalog after it, and a
    catalog `marts` makes `marts.sku_sales` ambiguous."""
    configured = os.environ.get("WAREHOUSE_PUBLISHED_DUCKDB")
    if configured:
        return Path(configured).resolve()
    warehouse = duckdb_path()
    return warehouse.with_name(f"{warehouse.stem}_marts.duckdb")


def marketplace_inbox() -> str:
    """The marketplace inbox (folder or bucket URL): `WAREHOUSE_INBOX`, default data/inbox."""
    return os.environ.get("WAREHOUSE_INBOX", str(PROJECT_ROOT / "data" / "inbox"))


def events_inbox() -> str | None:
    """The web-shop events inbox (folder or bucket URL), `WAREHOUSE_EVENTS`: none by default."""
    return os.environ.get("WAREHOUSE_EVENTS") or None


def ecb_rate_sources() -> list[str]:
    """A newer ECB rates file (path or URL) named by `WAREHOUSE_ECB_RATES`, if set."""
    configured = os.environ.get("WAREHOUSE_ECB_RATES")
    return [configured] if configured else []


def demo_duckdb_path() -> Path:
    """The demo's own warehouse file (`WAREHOUSE_DEMO_DUCKDB`, default data/demo.duckdb)."""
    configured = os.environ.get("WAREHOUSE_DEMO_DUCKDB")
    path = Path(configured) if configured else PROJECT_ROOT / "data" / "demo.duckdb"
    return path.resolve()


def report_path() -> Path:
    """Where `warehouse report` (and the demo) write the HTML report: `WAREHOUSE_REPORT`,
    default data/report.html under the project."""
    configured = os.environ.get("WAREHOUSE_REPORT")
    path = Path(configured) if configured else PROJECT_ROOT / "data" / "report.html"
    return path.resolve()


def duckdb_memory_limit() -> str:
    return os.environ.get("WAREHOUSE_DUCKDB_MEMORY_LIMIT", "512MB")


def load_workers() -> int | None:
    configured = os.environ.get("WAREHOUSE_LOAD_WORKERS")
    if not configured:
        return None
    if not configured.isdigit() or int(configured) < 1:
        raise SettingError(
            f"WAREHOUSE_LOAD_WORKERS must be a whole number >= 1, not {configured!r}",
            "set it to e.g. 2, or unset it for the default",
        )
    return int(configured)


def postgres_settings(role: str | None = None) -> PostgresSettings:
    """PGUSER's login, or with `role` (one of ROLES) that role's name and password."""
    user = os.environ.get("PGUSER", "postgres")
    password = os.environ.get("PGPASSWORD", "")
    if role is not None:
        user, password = role_name(role), role_password(role)
    return PostgresSettings(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=_port(os.environ.get("PGPORT", "5432")),
        user=user,
        password=password,
        database=os.environ.get("PGDATABASE", "warehouse"),
    )


# What each part of the warehouse logs in as on PostgreSQL (`warehouse setup-roles`):
# the ingest writes raw, dbt reads raw and writes its schemas, BI reads the marts.
ROLES = ("loader", "transformer", "reporter")
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def role_name(role: str) -> str:
    """The PostgreSQL role playing `role`: `WAREHOUSE_<ROLE>_ROLE`, default `role` itself."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {ROLES}")
    variable = f"WAREHOUSE_{role.upper()}_ROLE"
    name = os.environ.get(variable, role)
    if not _ROLE_NAME.fullmatch(name):
        raise SettingError(
            f"{variable} must be a lower-case PostgreSQL name (letters, digits, _), not {name!r}",
            f"set {variable} to e.g. {role}, or unset it",
        )
    return name


def role_password(role: str) -> str:
    """`WAREHOUSE_<ROLE>_PASSWORD`; empty where pg_hba.conf trusts or peers the login."""
    return os.environ.get(f"WAREHOUSE_{role.upper()}_PASSWORD", "")


def roles_wanted() -> bool:
    """`WAREHOUSE_ROLES=off` keeps every part on PGUSER even where the roles exist."""
    return os.environ.get("WAREHOUSE_ROLES", "auto").lower() not in ("off", "0", "no", "false")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingError(
            f"PGPORT must be a port number (1-65535), not {text!r}",
            "set PGPORT to the server's port, usually 5432",
        )
    return int(text)


def describe_warehouse(target: str) -> str:
    """Where the warehouse is, for people (never the password)."""
    if target == "duckdb":
        return f"DuckDB file {duckdb_path()}"
    if target == "spark":
        return f"Spark warehouse in {spark_dir()} (raw as Parquet in {spark_raw_url()})"
    from .roles import existing_roles

    pg = postgres_settings()
    try:
        roles = existing_roles()
    except Exception:  # noqa: BLE001 - a description never fails; the connection error shows elsewhere
        roles = set()
    parts = {"loader": "ingest", "transformer": "dbt", "reporter": "readers"}
    logins = ", ".join(f"{parts[role]} as {role_name(role)}" for role in ROLES if role in roles)
    return (
        f"PostgreSQL database {pg.database} on {pg.host}:{pg.port} "
        f"(user {pg.user}{'; ' + logins if logins else ''})"
    )


def warehouse_identity(target: str) -> str:
    """A short stable name for the warehouse a target points at (for local dlt state)."""
    if target == "duckdb":
        where = str(duckdb_path())
    elif target == "spark":
        where = f"spark:{spark_raw_url()}"
    else:
        pg = postgres_settings()
        where = f"{pg.host}:{pg.port}/{pg.database}"
    return hashlib.sha256(where.encode()).hexdigest()[:10]


def dlt_pipelines_dir() -> Path:
    configured = os.environ.get("WAREHOUSE_DLT_DIR")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "data" / ".dlt"


def dbt_log_dir() -> Path:
    """Where dbt writes its log (one folder per warehouse): `WAREHOUSE_LOG_DIR`,
    default data/logs under the project."""
    configured = os.environ.get("WAREHOUSE_LOG_DIR")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "data" / "logs"


def dbt_environment(target: str) -> dict[str, str]:
    """Environment for dbt: the profile reads these with env_var()."""
    env = {
        "WAREHOUSE_DUCKDB": str(duckdb_path()),
        "WAREHOUSE_SPARK_DIR": str(spark_dir()),
        "WAREHOUSE_SPARK_RAW_URL": spark_raw_url(),
        "WAREHOUSE_SPARK_LOG_CONFIG": str(DBT_PROJECT_DIR / "spark" / "log4j2.properties"),
        "WAREHOUSE_REPORTER_GRANTEE": "",
    }
    if target == "postgres":
        from .roles import existing_roles

        roles = existing_roles()
        # dbt builds as transformer, and grants the marts it builds to reporter
        pg = postgres_settings("transformer" if "transformer" in roles else None)
        env |= {
            "PGHOST": pg.host,
            "PGPORT": str(pg.port),
            "PGUSER": pg.user,
            "PGDATABASE": pg.database,
            # DBT_ENV_SECRET_ values are scrubbed from dbt's logs
            "DBT_ENV_SECRET_PGPASSWORD": pg.password,
            "WAREHOUSE_REPORTER_GRANTEE": role_name("reporter") if "reporter" in roles else "",
        }
    return env
