"""What each API call sends and how its reply reads, shared by the sync and async clients.

A ``Call`` describes one JSON request and the reader of its reply; a ``StreamCall`` one
request whose reply is a run's event stream. The clients only send them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import orjson

from sluice.client import _replies
from sluice.client._errors import SluiceConnectionError, api_error
from sluice.client._sse import CHAT, PREDICTION, StreamCursor, WireFormat
from sluice.client._types import (
    ChatEvent,
    ChatMessage,
    ChatReply,
    Flow,
    JSONObject,
    Prediction,
    PredictionEvent,
)

T = TypeVar("T")
E = TypeVar("E")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=120.0)
"""10 s to connect, write and get a pooled connection; 120 s between two reads."""


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[Any], T]
    json: object = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamCall(Generic[E]):
    method: str
    path: str
    wire: WireFormat[E]
    json: object = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def client_headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "sluice-python"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def build_request(
    http: httpx.Client | httpx.AsyncClient, call: Call[Any] | StreamCall[Any]
) -> httpx.Request:
    headers = dict(call.headers) if isinstance(call, StreamCall) else {}
    content = None
    if call.json is not None:
        content = orjson.dumps(call.json)
        headers["Content-Type"] = "application/json"
    return http.build_request(
        call.method, call.path, content=content, params=call.params or None, headers=headers
    )


def read_reply(call: Call[T], status: int, body: bytes) -> T:
    """The call's result, or the API error the status says."""
    if status >= 400:
        raise api_error(status, body)
    return call.read(_replies.read_json(body))


def connection_error(exc: httpx.RequestError) -> SluiceConnectionError:
    return SluiceConnectionError(f"{type(exc).__name__}: {exc}")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _prediction_body(
    question: str,
    stream: bool,
    chat_id: str | None,
    vars: Mapping[str, object] | None,
    history: Sequence[Mapping[str, str]] | None,
) -> JSONObject:
    body: JSONObject = {"question": question, "streaming": stream}
    if chat_id is not None:
        body["chatId"] = chat_id
    if vars:
        body["overrideConfig"] = {"vars": dict(vars)}
    if history:
        body["history"] = [dict(message) for message in history]
    return body


def predict(
    flow_id: str,
    question: str,
    chat_id: str | None,
    vars: Mapping[str, object] | None,
    history: Sequence[Mapping[str, str]] | None,
) -> Call[Prediction]:
    body = _prediction_body(question, False, chat_id, vars, history)
    path = f"/api/v1/prediction/{_segment(flow_id)}"
    return Call("POST", path, _replies.read_prediction, body)


def predict_stream(
    flow_id: str,
    question: str,
    chat_id: str | None,
    vars: Mapping[str, object] | None,
    history: Sequence[Mapping[str, str]] | None,
) -> StreamCall[PredictionEvent]:
    body = _prediction_body(question, True, chat_id, vars, history)
    path = f"/api/v1/prediction/{_segment(flow_id)}"
    return StreamCall("POST", path, PREDICTION, body, headers=_STREAM_HEADERS)


def _chat_body(
    message: str, chat_instance_id: str | None, model_id: str | None, stream: bool, tokens: bool
) -> JSONObject:
    body: JSONObject = {"message": message, "stream": stream, "includeTokens": tokens}
    if chat_instance_id is not None:
        body["chatInstanceId"] = chat_instance_id
    if model_id is not None:
        body["chatModelId"] = model_id
    return body


def chat(message: str, chat_instance_id: str | None, model_id: str | None) -> Call[ChatReply]:
    body = _chat_body(message, chat_instance_id, model_id, False, False)
    return Call("POST", "/api/chat", _replies.read_chat_reply, body)


def chat_stream(
    message: str, chat_instance_id: str | None, model_id: str | None, include_tokens: bool
) -> StreamCall[ChatEvent]:
    body = _chat_body(message, chat_instance_id, model_id, True, include_tokens)
    params = {"stream": "true", "includeTokens": "true" if include_tokens else "false"}
    return StreamCall("POST", "/api/chat", CHAT, body, params, _STREAM_HEADERS)


def resume(cursor: StreamCursor[E]) -> StreamCall[E]:
    """The request that continues a cursor's run where it stopped."""
    if cursor.run_id is None:
        raise cursor.interrupted()
    return run_events(cursor.run_id, cursor.last_event_id, cursor.wire)


def run_events(run_id: str, last_event_id: str | None, wire: WireFormat[E]) -> StreamCall[E]:
    """The rest of a run, after ``last_event_id`` (from its first event when ``None``)."""
    headers = dict(_STREAM_HEADERS)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    path = f"/api/v1/runs/{_segment(run_id)}/events"
    return StreamCall("GET", path, wire, headers=headers)


def abort(run_id: str) -> Call[bool]:
    return Call("POST", f"/api/v1/runs/{_segment(run_id)}/abort", _replies.read_aborted)


def list_flows() -> Call[list[Flow]]:
    return Call("GET", "/api/v1/chatflows", _replies.read_flows)


def get_flow(flow_id: str) -> Call[Flow]:
    return Call("GET", f"/api/v1/chatflows/{_segment(flow_id)}", _replies.read_flow)


def _flow_body(document: Mapping[str, object] | str, name: str | None) -> JSONObject:
    flow_data = document if isinstance(document, str) else orjson.dumps(dict(document)).decode()
    body: JSONObject = {"flowData": flow_data}
    if name is not None:
        body["name"] = name
    return body


def create_flow(document: Mapping[str, object] | str, name: str | None) -> Call[Flow]:
    body = _flow_body(document, name)
    return Call("POST", "/api/v1/chatflows", _replies.read_flow, body)


def update_flow(flow_id: str, document: Mapping[str, object] | str, name: str | None) -> Call[Flow]:
    body = _flow_body(document, name)
    return Call("PUT", f"/api/v1/chatflows/{_segment(flow_id)}", _replies.read_flow, body)


def delete_flow(flow_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/chatflows/{_segment(flow_id)}", _replies.ignore_reply)


def messages(flow_id: str, chat_id: str | None) -> Call[list[ChatMessage]]:
    params = {"chatId": chat_id} if chat_id is not None else {}
    path = f"/api/v1/chatmessage/{_segment(flow_id)}"
    return Call("GET", path, _replies.read_messages, params=params)


_STREAM_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
