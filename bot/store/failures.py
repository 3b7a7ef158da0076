"""What a database error means: the database is away for a while (retry, count nothing), or this
piece of work cannot succeed as it is (count an attempt; dead-letter it after a few).

PostgreSQL says which with its SQLSTATE: class 08 (connection lost), 57P01-03 (server shutting down or
starting), 53300 (too many connections), 40001 / 40P01 (serialization failure, deadlock) are the
database's; anything else tied to the statement (54000 a too-long index row, 57014 a statement
timeout, 55P03 a lock timeout, 22xxx bad data, 23xxx a constraint) is the work's.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "40001", "40P01"})


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


def is_transient(exc: BaseException) -> bool:
    """The database was unreachable or busy, not wrong about this work: retry without counting."""
    if isinstance(exc, PoolTimeout | ConnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = sqlstate(exc)
    if code is not None:
        return code.startswith("08") or code in TRANSIENT_SQLSTATES
    # no SQLSTATE: a driver-level failure to talk to the server, or SQLite's "database is locked"
    return isinstance(exc, OperationalError)
