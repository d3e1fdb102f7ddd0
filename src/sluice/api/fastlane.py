"""The two routes every turn takes, served in front of FastAPI: prediction and chat.

``POST /api/v1/prediction/{flow_id}`` and ``POST /api/chat`` start every streamed turn.
FastAPI's middleware, routing, dependency solving and validation cost about 0.5 ms per
request on a 2-core machine: more than half of what a bare relay adds to the time to first
token (docs/performance.md). This ASGI layer answers those two routes itself: it reads the
body (bounded like every other body), validates it with the same pydantic models, checks
the query the same way and calls the same functions as the FastAPI routes, which stay for
the OpenAPI docs and for what this layer passes on: requests with an ``Origin`` when CORS
is configured (the CORS middleware answers those).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sluice.api.errors import response_for, validation_error_response
from sluice.api.limits import too_large
from sluice.api.routes.chat import ChatRequest, chat_turn
from sluice.api.routes.flowise import Events, PredictionRequest, prediction
from sluice.api.state import ServerState

_PREDICTION = "/api/v1/prediction/"
_CHAT = "/api/chat"
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)
_EVENTS: TypeAdapter[Events] = TypeAdapter(Events)

T = TypeVar("T")


@dataclass(slots=True)
class Call:
    """One request to a fast-lane route: what its handler reads."""

    state: ServerState
    path: str
    body: bytes
    query: dict[str, str]
    authorization: str

    def query_value(self, adapter: TypeAdapter[T], name: str, default: T) -> T:
        """A query parameter checked as FastAPI would (a 422 naming ``query.<name>``)."""
        if name not in self.query:
            return default
        try:
            return adapter.validate_python(self.query[name])
        except ValidationError as exc:
            errors = [{**e, "loc": ("query", name, *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None


Handler = Callable[[Call], Coroutine[Any, Any, Response]]


class FastLane:
    """Serves prediction and chat; passes every other request to ``app`` (FastAPI)."""

    def __init__(self, app: FastAPI, *, max_body_bytes: int, has_cors: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.has_cors = has_cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handler(scope) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        response = await self._respond(scope, receive, handler)
        await response(scope, receive, send)

    def _handler(self, scope: Scope) -> Handler | None:
        if scope["method"] != "POST":
            return None
        path: str = scope["path"]
        if path == _CHAT:
            handler: Handler = _chat
        elif path.startswith(_PREDICTION) and "/" not in path[len(_PREDICTION) :]:
            handler = _prediction
        else:
            return None
        if self.has_cors and any(name == b"origin" for name, _ in scope["headers"]):
            return None
        return handler

    async def _respond(self, scope: Scope, receive: Receive, handler: Handler) -> Response:
        authorization = ""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                if int(value) > self.max_body_bytes:
                    return too_large(self.max_body_bytes)
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        body = await self._body(receive)
        if body is None:
            return too_large(self.max_body_bytes)
        raw_query: bytes = scope["query_string"]
        query = dict(parse_qsl(raw_query.decode("latin-1"))) if raw_query else {}
        call = Call(self.app.state.sluice, scope["path"], body, query, authorization)
        try:
            return await handler(call)
        except ValidationError as exc:
            return validation_error_response(exc.errors())
        except Exception as exc:
            response = response_for(exc)
            if response is None:
                raise
            return response

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None once it passes ``max_body_bytes``."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts)  # the client left: the handler's stream will see it
            part = message.get("body", b"")
            size += len(part)
            if size > self.max_body_bytes:
                return None
            parts.append(part)
            if not message.get("more_body", False):
                return parts[0] if len(parts) == 1 else b"".join(parts)


async def _prediction(call: Call) -> Response:
    request = PredictionRequest.model_validate_json(call.body)
    events = call.query_value(_EVENTS, "events", "flowise")
    flow_id = call.path[len(_PREDICTION) :]
    return await prediction(call.state, flow_id, request, call.authorization, events)


async def _chat(call: Call) -> Response:
    request = ChatRequest.model_validate_json(call.body)
    stream = call.query_value(_BOOL, "stream", False)
    include_tokens = call.query_value(_BOOL, "includeTokens", True)
    return await chat_turn(call.state, request, call.authorization, stream, include_tokens)
