"""Error responses become typed exceptions carrying the server's code, message and field."""

from __future__ import annotations

import pytest

from sluice.client import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SluiceAPIError,
    StreamInterruptedError,
    ValidationError,
)
from sluice.client._errors import api_error
from sluice.errors import SluiceError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, SluiceAPIError),
        (422, ValidationError),
        (429, RateLimitError),
        (503, ServerError),
    ],
)
def test_status_picks_the_exception(status: int, cls: type[SluiceAPIError]):
    error = api_error(status, b'{"error": {"code": "c", "message": "m", "field": "f"}}')
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.field) == (status, "c", "m", "f")
    assert isinstance(error, SluiceError)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"message": "flow missing"}', "flow missing"),
        (b"Bad Gateway", "Bad Gateway"),
        (b"", "HTTP 502"),
        (b"[1, 2]", "HTTP 502"),
    ],
)
def test_bodies_of_other_shapes_still_give_a_message(body: bytes, message: str):
    error = api_error(502, body)
    assert (error.code, error.message) == ("http_502", message)


def test_interrupted_error_names_its_resume_position():
    error = StreamInterruptedError("run-1", "7")
    assert "run-1" in str(error)
    assert repr(error) == "StreamInterruptedError(run_id='run-1', last_event_id='7')"
