"""Whole responses and providers' error bodies."""

from __future__ import annotations

import pytest

from sluice.errors import StreamFormatError
from sluice.integrations.response import decode_whole, error_message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"message": "Rate limit", "type": "tokens"}}', "Rate limit"),
        (
            b'{"type": "error", "error": {"type": "overloaded", "message": "Overloaded"}}',
            "Overloaded",
        ),
        (
            b'[{"error": {"code": 400, "message": "API key not valid", "status": "X"}}]',
            "API key not valid",
        ),
        (b'{"error": "model \\"x\\" not found"}', 'model "x" not found'),
        (b'{"message": "Forbidden"}', "Forbidden"),
        (b'{"detail": [{"loc": ["body"], "msg": "field required"}]}', "field required"),
        (b'{"error": {"code": 500}}', '{"error": {"code": 500}}'),
        (b"upstream connect error", "upstream connect error"),
        (b"", "Service Unavailable"),
    ],
)
def test_error_message_finds_the_providers_words(body, message):
    assert error_message(body, "Service Unavailable")[0] == message


def test_error_message_is_shortened():
    message, value = error_message(b'{"message": "' + b"x" * 2000 + b'"}', None)
    assert len(message) == 501
    assert value == {"message": "x" * 2000}


def test_decode_whole_honours_charset_and_json():
    assert decode_whole("é".encode("latin-1"), "text/plain; charset=latin-1") == ("é", "é")
    assert decode_whole(b'"hi"', "application/json") == ("hi", "hi")
    assert decode_whole(b"[1]", "application/problem+json") == ("[1]", [1])
    assert decode_whole(b"{x", "text/plain") == ("{x", "{x")
    with pytest.raises(StreamFormatError):
        decode_whole(b"{x", "application/json")
