"""The errors the store raises; the lead moves them into ``sluice.errors`` when it settles.

    SluiceError
    └── StoreError                the database failed or did not answer; report it, maybe retry
        └── RecordNotFoundError   the chat, message or key named does not exist

SQLAlchemy and driver exceptions are translated to these once, by ``database_error``;
nothing above the store ever sees a SQLAlchemy exception. Messages never hold SQL
parameters (message text, key hashes): the engine runs with ``hide_parameters``.
"""

from __future__ import annotations

from sluice.errors import SluiceError


class StoreError(SluiceError):
    """The database failed: unreachable, locked past its timeout, or a statement failed."""

    code = "store_error"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class RecordNotFoundError(StoreError):
    """A record the call needs does not exist; ``kind`` and ``id`` name it."""

    code = "not_found"

    def __init__(self, kind: str, record_id: str):
        self.kind = kind
        self.record_id = record_id
        super().__init__(f"no {kind} {record_id!r}")


def database_error(exc: BaseException) -> StoreError:
    """A driver or SQLAlchemy failure as ``StoreError``, with the database's own one-line
    reason (never the statement's parameters)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    error = StoreError(f"database error: {(text or type(cause).__name__)[:200]}")
    error.__cause__ = exc
    return error
