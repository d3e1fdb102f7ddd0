"""The Flowise-compatible API: prediction (streaming or JSON), chatflows, chat messages, abort.

Existing Flowise clients work unmodified: the ``flowise`` SDK asks
``/chatflows-streaming/{id}`` first, then posts to ``/prediction/{id}``.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sluice.api.auth import check_flow_access, require_admin, require_flow_access
from sluice.api.errors import APIError
from sluice.api.eventstream import event_stream_response
from sluice.api.state import ServerState
from sluice.api.streaming import collect_run, stream_run
from sluice.api.wire import FlowiseContext, render_flowise_json, render_flowise_sse
from sluice.flows.model import Flow
from sluice.store import ChatTurn

router = APIRouter(prefix="/api/v1", tags=["flowise"])


class HistoryItem(BaseModel):
    """Flowise's history item: ``{message|content, type: userMessage|apiMessage}``."""

    model_config = ConfigDict(extra="ignore")
    message: str | None = None
    content: str | None = None
    type: str | None = None
    role: str | None = None

    def turn(self) -> ChatTurn:
        is_bot = self.type == "apiMessage" or self.role in ("apiMessage", "assistant")
        return {
            "role": "assistant" if is_bot else "user",
            "content": self.message or self.content or "",
        }


class PredictionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1, max_length=100_000)
    streaming: bool = False
    chatId: str | None = Field(default=None, min_length=1, max_length=200)
    sessionId: str | None = None
    overrideConfig: dict[str, Any] | None = None
    history: list[HistoryItem] | None = None
    socketIOClientId: str | None = None

    @field_validator("streaming", mode="before")
    @classmethod
    def _truthy(cls, value: object) -> object:
        if isinstance(value, str):  # Flowise clients send "true" as often as true
            return value.strip().lower() in ("true", "1", "yes")
        return value


async def _flow(request: Request, flow_id: str) -> Flow:
    flow = await ServerState.of(request).catalog.flow(flow_id)
    if flow is None:
        raise APIError(404, "flow_not_found", f"no flow {flow_id!r}", field="flowId")
    return flow


@router.get("/ping")
async def ping() -> Response:
    return Response("pong", media_type="text/plain")


@router.get("/chatflows-streaming/{flow_id}")
async def is_streaming(flow_id: str, request: Request) -> dict[str, bool]:
    flow = await _flow(request, flow_id)
    return {"isStreaming": flow.can_stream}


Events = Literal["flowise", "sluice"]


@router.post("/prediction/{flow_id}", response_model=None)
async def predict(
    flow_id: str, body: PredictionRequest, request: Request, events: Events = "flowise"
) -> Response:
    """``?events=sluice`` adds Sluice's status and tool messages to the Flowise stream.

    Served by ``sluice.api.fastlane`` (same checks, without FastAPI's per-request work);
    this route documents it and answers what the fast lane passes on.
    """
    authorization = request.headers.get("authorization", "")
    return await prediction(ServerState.of(request), flow_id, body, authorization, events)


async def prediction(
    state: ServerState,
    flow_id: str,
    body: PredictionRequest,
    authorization: str,
    events: Events = "flowise",
) -> Response:
    """Start the flow's turn; its event stream, or its JSON answer once it has ended."""
    flow = await state.catalog.flow(flow_id)
    if flow is None:
        raise APIError(404, "flow_not_found", f"no flow {flow_id!r}", field="flowId")
    await check_flow_access(state, authorization, flow)
    variables = (body.overrideConfig or {}).get("vars") or {}
    if not isinstance(variables, dict):
        raise APIError(422, "invalid_request", "expected an object", field="overrideConfig.vars")
    history = [item.turn() for item in body.history] if body.history else None
    turn = await state.turns.start(
        flow, body.question, chat_id=body.chatId, vars=variables, history=history
    )
    if body.socketIOClientId:
        await state.join_chat_room(body.socketIOClientId, turn.chat_id)
    context = FlowiseContext(
        turn.chat_id,
        body.question,
        body.sessionId or turn.chat_id,
        has_progress=events == "sluice",
    )
    headers = {"X-Run-Id": turn.run_id}
    if not (body.streaming and flow.can_stream):
        content = render_flowise_json(await collect_run(state, turn.run_id), context)
        return Response(content, media_type="application/json", headers=headers)

    # A partial, not a closure: it is kept for resuming as long as the run is (~0.2 KB less).
    render = partial(render_flowise_sse, context=context)
    state.remember_renderer(turn.run_id, render)
    stream = stream_run(state, turn.run_id, render, stop_on_disconnect=flow.stop_on_disconnect)
    return event_stream_response(stream, headers=headers, headers_with_first=True)


@router.put("/chatmessage/abort/{flow_id}/{chat_id}")
async def abort_chat(flow_id: str, chat_id: str, request: Request) -> dict[str, Any]:
    state = ServerState.of(request)
    flow = await _flow(request, flow_id)
    await require_flow_access(request, flow)
    aborted = state.turns.running_in(chat_id)
    for run_id in aborted:
        await state.runs.abort(run_id)
    return {"status": 200, "message": "Chat message aborted", "aborted": len(aborted)}


@router.get("/chatmessage/{flow_id}")
async def chat_messages(
    flow_id: str, request: Request, chatId: str | None = None
) -> list[dict[str, Any]]:
    state = ServerState.of(request)
    flow = await _flow(request, flow_id)
    if chatId is None:
        await require_admin(request)
    else:
        await require_flow_access(request, flow)
    records = await state.db.messages.list_messages(chatId, flow_id=flow_id)
    return [_message(record) for record in records]


def _message(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "role": "userMessage" if record.role == "user" else "apiMessage",
        "content": record.content,
        "chatflowid": record.flow_id,
        "chatId": record.chat_id,
        "status": record.status.value,
        "error": record.error,
        "sourceDocuments": [d.to_dict() for d in record.sources],
        "usedTools": [
            {"tool": t.name, "toolInput": t.input, "toolOutput": t.output} for t in record.tools
        ],
        "usage": record.usage,
        "ttftMs": record.ttft_ms,
        "durationMs": record.duration_ms,
        "createdDate": record.created_at.isoformat(),
    }


class ChatflowBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    name: str | None = None
    flowData: str | dict[str, Any]
    isPublic: bool | None = None


def _document(body: ChatflowBody, flow_id: str | None) -> dict[str, Any]:
    data = body.flowData
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise APIError(
                422, "invalid_request", "flowData is not valid JSON", field="flowData"
            ) from exc
    if not isinstance(data, dict):
        raise APIError(422, "invalid_request", "expected a flow object", field="flowData")
    document = {k: v for k, v in data.items() if k != "kind"}
    document["id"] = flow_id or body.id or document.get("id") or str(uuid.uuid4())
    if body.name is not None:
        document["name"] = body.name
    if body.isPublic is not None:
        document["public"] = body.isPublic
    return document


def _chatflow(flow: Flow, *, updated: str | None = None) -> dict[str, Any]:
    document = flow.model_dump(mode="json", by_alias=True, exclude={"kind"})
    return {
        "id": flow.id,
        "name": flow.name or flow.id,
        "flowData": orjson.dumps(document).decode(),
        "isPublic": flow.public,
        "deployed": True,
        "isStreaming": flow.can_stream,
        "updatedDate": updated,
    }


@router.get("/chatflows", dependencies=[Depends(require_admin)])
async def list_chatflows(request: Request) -> list[dict[str, Any]]:
    catalog = ServerState.of(request).catalog
    flows = [await catalog.flow(flow_id) for flow_id in await catalog.flow_ids()]
    return [_chatflow(flow) for flow in flows if flow is not None]


@router.get("/chatflows/{flow_id}", dependencies=[Depends(require_admin)])
async def get_chatflow(flow_id: str, request: Request) -> dict[str, Any]:
    return _chatflow(await _flow(request, flow_id))


@router.post("/chatflows", dependencies=[Depends(require_admin)], status_code=201)
async def create_chatflow(body: ChatflowBody, request: Request) -> dict[str, Any]:
    return await _save(body, None, request)


@router.put("/chatflows/{flow_id}", dependencies=[Depends(require_admin)])
async def update_chatflow(flow_id: str, body: ChatflowBody, request: Request) -> dict[str, Any]:
    state = ServerState.of(request)
    if await state.db.definitions.get_definition("flow", flow_id) is None:
        raise APIError(404, "flow_not_found", f"no stored flow {flow_id!r}", field="flowId")
    return await _save(body, flow_id, request)


async def _save(body: ChatflowBody, flow_id: str | None, request: Request) -> dict[str, Any]:
    state = ServerState.of(request)
    document = _document(body, flow_id)
    if flow_id is None and document["id"] in state.catalog.files.flows:
        raise APIError(
            409, "flow_exists", f"flow {document['id']!r} is defined in a file", field="id"
        )
    flow = state.catalog.parse(document)
    await state.db.definitions.put_definition("flow", flow.id, document)
    return _chatflow(flow)


@router.delete("/chatflows/{flow_id}", dependencies=[Depends(require_admin)])
async def delete_chatflow(flow_id: str, request: Request) -> dict[str, Any]:
    deleted = await ServerState.of(request).db.definitions.delete_definition("flow", flow_id)
    if not deleted:
        raise APIError(404, "flow_not_found", f"no stored flow {flow_id!r}", field="flowId")
    return {"id": flow_id, "deleted": True}
