"""Errors a person can act on: one line saying what is wrong and what to do.

Every command catches `UserError` (and the known failures `explain` recognises)
at the top and prints `error: <what>` and, on the next line, `  <what to do>`;
the traceback only with `--debug`.
"""

from __future__ import annotations

from ingest.settings import SettingError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED_INPUT, EXIT_BUSY = 0, 1, 2, 3, 4


class UserError(Exception):
    """A failure the user can fix: `message` says what is wrong, `hint` what to do."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint

    def lines(self) -> list[str]:
        lines = [f"error: {_one_line(self.message)}"]
        if self.hint:
            lines.append(f"  {_one_line(self.hint)}")
        return lines


class WarehouseBusy(UserError):
    """Another run holds the warehouse's writer lock."""

    exit_code = EXIT_BUSY


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def explain(error: BaseException) -> UserError | None:
    """A UserError for a known failure anywhere in the exception's chain (dlt and dbt
    wrap the driver's error), or None for an unexpected one."""
    for cause in _chain(error):
        if isinstance(cause, UserError):
            return cause
        if isinstance(cause, SettingError):
            return UserError(str(cause), cause.hint)
        text = str(cause)
        for recognise in _RECOGNISERS:
            if found := recognise(type(cause).__name__, text):
                return found
    return None


def _chain(error: BaseException):
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _postgres_connection(kind: str, text: str) -> UserError | None:
    if kind != "OperationalError" or "connection to server" not in text:
        return None
    server = _between(text, "connection to server at ", " failed") or "the server"
    if match := _quoted_after(text, "database "):
        return UserError(
            f"PostgreSQL database {match!r} does not exist on {server}",
            "create it with `warehouse init --target postgres`, or set PGDATABASE",
        )
    if match := _quoted_after(text, "role "):
        return UserError(
            f"PostgreSQL role {match!r} does not exist on {server}",
            "set PGUSER to a role that exists (and PGPASSWORD)",
        )
    if "password authentication failed" in text:
        return UserError(f"PostgreSQL refused the password on {server}", "check PGPASSWORD")
    if "Connection refused" in text or "timeout expired" in text or "could not" in text:
        return UserError(
            f"cannot reach PostgreSQL at {server}",
            "is the server running? check PGHOST and PGPORT",
        )
    return UserError(
        f"cannot connect to PostgreSQL: {text.splitlines()[0]}", "check the PG* settings"
    )


def _duckdb_file_in_use(kind: str, text: str) -> UserError | None:
    if "Could not set lock on file" not in text:
        return None
    path = _between(text, 'file "', '"') or "the DuckDB file"
    holder = _between(text, "(PID ", ")")
    who = f" (pid {holder})" if holder else ""
    return UserError(
        f"the DuckDB warehouse {path} is open in another process{who}",
        "close that program (a DuckDB shell, a notebook, a BI tool) and run again",
    )


def _bucket_credentials(kind: str, text: str) -> UserError | None:
    if kind == "ConfigFieldMissingException" and "credentials" in text:
        return UserError(
            "no credentials for the bucket inbox",
            "set them as dlt expects, e.g. SOURCES__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID"
            " and ..._AWS_SECRET_ACCESS_KEY, or in .dlt/secrets.toml (README: Your own files)",
        )
    if kind in {"NoCredentialsError", "DefaultCredentialsError", "ClientAuthenticationError"}:
        return UserError(f"the bucket refused the credentials: {text}", "check them")
    return None


def _postgres_connection_lost(kind: str, text: str) -> UserError | None:
    lost = (
        "terminating connection due to administrator command",
        "server closed the connection unexpectedly",
        "connection already closed",
    )
    if not any(sign in text for sign in lost):
        return None
    return UserError(
        "the connection to PostgreSQL was lost during the run (nothing half-done is visible)",
        "run the same command again: it finishes the interrupted load first",
    )


_RECOGNISERS = (
    _postgres_connection,
    _postgres_connection_lost,
    _duckdb_file_in_use,
    _bucket_credentials,
)


def _between(text: str, start: str, end: str) -> str | None:
    if start not in text:
        return None
    rest = text.split(start, 1)[1]
    return rest.split(end, 1)[0] if end in rest else None


def _quoted_after(text: str, word: str) -> str | None:
    marker = f'{word}"'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split('"', 1)[0]
