"""Reading a response that is not streamed: the whole body as text and JSON, and the
provider's own message from an error body (OpenAI, Anthropic, Gemini, Ollama, FastAPI…).
"""

from __future__ import annotations

import codecs

import orjson

from sluice.errors import StreamFormatError
from sluice.streams.types import JSONValue

_MESSAGE_MAX_CHARS = 500
_MESSAGE_KEYS = ("error", "message", "detail", "error_description", "msg", "title", "errors")
"""Where providers put the message, most specific first; nested objects are searched too."""


def decode_whole(body: bytes, content_type: str | None) -> tuple[str, JSONValue]:
    """The body's text and its parsed value: JSON when it is JSON, else the text itself.

    A JSON string body is its own text. A body labelled JSON that does not parse raises
    ``StreamFormatError``.
    """
    media_type, charset = _parse_content_type(content_type)
    text = _decode(body, charset)
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if not is_json and not text.lstrip().startswith(("{", "[")):
        return text, text
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if is_json:
            raise StreamFormatError(f"the response is labelled JSON but is not: {exc}") from exc
        return text, text
    return (value, value) if isinstance(value, str) else (text, value)


def error_message(body: bytes, reason: str | None) -> tuple[str, JSONValue]:
    """The provider's message from an error body (shortened), and the parsed body or None."""
    value: JSONValue = None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # not JSON: the text itself is the message
    message = _find_message(value)
    if not message:
        message = body.decode("utf-8", "replace").strip() or reason or "no error message"
    if len(message) > _MESSAGE_MAX_CHARS:
        message = message[:_MESSAGE_MAX_CHARS] + "…"
    return message, value


def _find_message(value: JSONValue) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return _find_message(value[0]) if value else None
    if not isinstance(value, dict):
        return None
    for key in _MESSAGE_KEYS:
        found = _find_message(value.get(key))
        if found:
            return found
    return None


def _parse_content_type(content_type: str | None) -> tuple[str, str]:
    media_type, _, params = (content_type or "").partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return media_type.strip().lower(), charset


def _decode(body: bytes, charset: str) -> str:
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, "replace")
