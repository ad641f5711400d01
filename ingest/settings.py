"""Where the warehouse lives, read from the environment (never from literals or logs).

DuckDB: `WAREHOUSE_DUCKDB` (default `data/warehouse.duckdb` under the project).
PostgreSQL: the standard libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
Loading: `WAREHOUSE_DUCKDB_MEMORY_LIMIT` (DuckDB's memory_limit while loading raw,
default 512MB) and `WAREHOUSE_LOAD_WORKERS` (parallel dlt load jobs).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
TARGETS = ("duckdb", "postgres")
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


def postgres_settings() -> PostgresSettings:
    return PostgresSettings(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=_port(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        database=os.environ.get("PGDATABASE", "warehouse"),
    )


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
    pg = postgres_settings()
    return f"PostgreSQL database {pg.database} on {pg.host}:{pg.port} (user {pg.user})"


def warehouse_identity(target: str) -> str:
    """A short stable name for the warehouse a target points at (for local dlt state)."""
    if target == "duckdb":
        where = str(duckdb_path())
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
    env = {"WAREHOUSE_DUCKDB": str(duckdb_path())}
    if target == "postgres":
        pg = postgres_settings()
        env |= {
            "PGHOST": pg.host,
            "PGPORT": str(pg.port),
            "PGUSER": pg.user,
            "PGDATABASE": pg.database,
            # DBT_ENV_SECRET_ values are scrubbed from dbt's logs
            "DBT_ENV_SECRET_PGPASSWORD": pg.password,
        }
    return env
