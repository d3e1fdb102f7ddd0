"""The errors the SDK raises, one tree under Sluice's own root.

SluiceError                          (sluice.errors)
└── SluiceClientError                anything the SDK raises on purpose
    ├── SluiceAPIError               the server answered with an error status
    │   ├── AuthenticationError      401, 403: fix the API key
    │   ├── NotFoundError            404: no such flow, run or message
    │   ├── ValidationError          400, 422: fix the request (``field`` names what)
    │   ├── RateLimitError           429: retry later
    │   └── ServerError              5xx: retry later
    ├── SluiceConnectionError        no answer: connect failed, timed out, connection reset
    │   └── StreamInterruptedError   a stream stopped before its end; resume it
    └── ResponseFormatError          an answer the SDK cannot read
"""

from __future__ import annotations

from typing import Any

import orjson

from sluice.errors import SluiceError


class SluiceClientError(SluiceError):
    """Root of every error the SDK raises on purpose."""


class SluiceAPIError(SluiceClientError):
    """An HTTP error status with the server's ``code``, ``message`` and, if any, ``field``."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        return f"{self.status} {self.code}: {self.message}{where}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(SluiceAPIError):
    """The API key is missing, wrong, or not allowed to do this (401, 403)."""


class NotFoundError(SluiceAPIError):
    """No such flow, run or message (404)."""


class ValidationError(SluiceAPIError):
    """The request was refused as invalid (400, 422); ``field`` names the culprit."""


class RateLimitError(SluiceAPIError):
    """Too many requests (429)."""


class ServerError(SluiceAPIError):
    """The server failed (5xx); a retry may succeed."""


class SluiceConnectionError(SluiceClientError):
    """The server could not be reached, did not answer in time, or dropped the connection."""


class StreamInterruptedError(SluiceConnectionError):
    """A stream stopped before its end event.

    Call ``resume(run_id, last_event_id)`` to receive the rest of the run; ``run_id`` is
    ``None`` when the stream stopped before the server named the run.
    """

    def __init__(self, run_id: str | None, last_event_id: str | None):
        self.run_id = run_id
        self.last_event_id = last_event_id
        super().__init__(
            f"stream of run {run_id} interrupted after event {last_event_id}; resume it"
        )

    def __repr__(self) -> str:
        return (
            f"StreamInterruptedError(run_id={self.run_id!r}, last_event_id={self.last_event_id!r})"
        )


class ResponseFormatError(SluiceClientError):
    """The server answered with a body the SDK cannot read (not JSON, or the wrong shape)."""


_BY_STATUS: dict[int, type[SluiceAPIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
}


def api_error(status: int, body: bytes) -> SluiceAPIError:
    """The error for an error response; reads ``{"error": {code, message, field}}``.

    Other bodies (FastAPI's ``{"detail": ...}``, Flowise's ``{"message": ...}``, plain
    text) still give a useful message.
    """
    code, message, field = _read_error_body(body)
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, SluiceAPIError)
    return cls(status, code or f"http_{status}", message or f"HTTP {status}", field)


def _read_error_body(body: bytes) -> tuple[str | None, str | None, str | None]:
    try:
        data: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, body.decode("utf-8", "replace")[:500] or None, None
    if not isinstance(data, dict):
        return None, None, None
    error = data.get("error")
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message")), _text(error.get("field"))
    if isinstance(error, str):
        return None, error, None
    for key in ("detail", "message"):
        if key in data:
            detail = data[key]
            return None, detail if isinstance(detail, str) else orjson.dumps(detail).decode(), None
    return None, None, None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
