"""The admin pages (``/admin``) and their API: integrations, flows and chats, behind a key.

The pages are static files shipped in ``sluice/web/admin``; they ask for an API key, keep
it in ``sessionStorage`` and send it as ``Authorization: Bearer`` to the routes below.
Flows are saved through the Flowise-compatible ``/chatflows`` routes; here they are only
listed and validated, with errors placed at their line (see ``_flow_problem``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from fastapi import APIRouter, Body, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import FileResponse

from sluice.api.auth import require_admin
from sluice.api.errors import APIError
from sluice.api.eventstream import event_stream_response
from sluice.api.state import ServerState
from sluice.errors import ConfigError, ExpressionError, UpstreamError
from sluice.integrations.executor import IntegrationRun, stream_integration
from sluice.integrations.model import Integration
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import template_context
from sluice.store import MessageRecord
from sluice.streams.mapping import build_mapping

ASSETS = Path(__file__).resolve().parents[2] / "web" / "admin"
_ASSET_TYPES = {"admin.js": "text/javascript", "admin.css": "text/css"}

JSONBody = Annotated[dict[str, Any], Body()]


@asynccontextmanager
async def _load_stored(app: FastAPI) -> AsyncIterator[None]:
    """At start, after the server's own lifespan: stored integrations become visible to flows."""
    await app.state.sluice.catalog.sync_definitions()
    yield


router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    lifespan=_load_stored,
)
pages = APIRouter(tags=["admin"])


@pages.get("/admin", include_in_schema=False)
async def admin_page() -> FileResponse:
    return FileResponse(ASSETS / "index.html", media_type="text/html")


@pages.get("/admin/{name}", include_in_schema=False)
async def admin_asset(name: str) -> FileResponse:
    if name not in _ASSET_TYPES:
        raise APIError(404, "not_found", f"no admin asset {name!r}")
    return FileResponse(ASSETS / name, media_type=_ASSET_TYPES[name])


def _integration_view(integration: Integration, *, source: str) -> dict[str, Any]:
    document = integration.model_dump(mode="json", exclude_unset=True, exclude={"kind"})
    return {
        "id": integration.id,
        "source": source,
        "method": integration.request.method,
        "url": integration.request.url,
        "streams": integration.stream is not None,
        "document": document,
    }


@router.get("/integrations")
async def list_integrations(request: Request) -> list[dict[str, Any]]:
    catalog = ServerState.of(request).catalog
    await catalog.sync_definitions()
    return [
        _integration_view(item, source=catalog.source_of("integration", key))
        for key, item in sorted(catalog.files.integrations.items())
    ]


@router.get("/integrations/{integration_id}")
async def get_integration(integration_id: str, request: Request) -> dict[str, Any]:
    catalog = ServerState.of(request).catalog
    await catalog.sync_definitions()
    integration = catalog.files.integrations.get(integration_id)
    if integration is None:
        raise APIError(404, "not_found", f"no integration {integration_id!r}", field="id")
    source = catalog.source_of("integration", integration_id)
    return _integration_view(integration, source=source)


@router.post("/integrations", status_code=201)
async def create_integration(request: Request, document: JSONBody) -> dict[str, Any]:
    state = ServerState.of(request)
    integration = state.catalog.parse_integration(document)
    if await state.db.definitions.get_definition("integration", integration.id) is not None:
        raise APIError(409, "exists", f"integration {integration.id!r} exists", field="id")
    return await _save_integration(state, integration, document)


@router.put("/integrations/{integration_id}")
async def update_integration(
    integration_id: str, request: Request, document: JSONBody
) -> dict[str, Any]:
    state = ServerState.of(request)
    if document.setdefault("id", integration_id) != integration_id:
        raise APIError(422, "invalid_request", "the id cannot change", field="id")
    integration = state.catalog.parse_integration(document)
    if await state.db.definitions.get_definition("integration", integration_id) is None:
        raise APIError(404, "not_found", f"no stored integration {integration_id!r}", field="id")
    return await _save_integration(state, integration, document)


async def _save_integration(
    state: ServerState, integration: Integration, document: dict[str, Any]
) -> dict[str, Any]:
    await state.catalog.save_definition("integration", integration, document)
    return _integration_view(integration, source="stored")


@router.delete("/integrations/{integration_id}")
async def delete_integration(integration_id: str, request: Request) -> dict[str, Any]:
    if not await ServerState.of(request).catalog.delete_stored("integration", integration_id):
        raise APIError(404, "not_found", f"no stored integration {integration_id!r}", field="id")
    return {"id": integration_id, "deleted": True}


class ExpressionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(max_length=10_000)


@router.post("/expressions/check")
async def check_expression(body: ExpressionBody) -> dict[str, Any]:
    """Whether a custom mapping expression compiles; ``position`` is 0-based in it."""
    try:
        build_mapping("custom", body.expression)
    except ExpressionError as exc:
        return {"ok": False, "message": exc.message, "position": exc.position}
    except ConfigError as exc:
        return {"ok": False, "message": exc.message, "position": None}
    return {"ok": True}


class TestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    integration: dict[str, Any]
    question: str = Field(default="Hello", max_length=100_000)
    vars: dict[str, Any] = Field(default_factory=dict)


@router.post("/integrations/test", response_model=None)
async def test_integration(body: TestBody, request: Request) -> Any:
    """Run an integration document's request and stream, as SSE ``data:`` JSON events,
    each parsed chunk as it arrives (``raw``), each piece released after mapping and
    buffering (``piece``), then ``done`` with the text, chunks, HTTP status and error."""
    state = ServerState.of(request)
    integration = state.catalog.parse_integration({"id": "test", **body.integration})
    env = state.services.env
    context = template_context(question=body.question, vars=body.vars, env=env, secrets=env)
    return event_stream_response(_test_events(integration, context, state.services.session))


async def _test_events(
    integration: Integration, context: dict[str, object], session: UpstreamSession
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    task = asyncio.create_task(_run_test(integration, context, session, queue.put_nowait))
    try:
        while (event := await queue.get()) is not None:
            yield b"data: " + orjson.dumps(event) + b"\n\n"
        task.result()  # a bug in the run surfaces here rather than as a silent stop
    finally:
        task.cancel()
        await asyncio.wait({task})


async def _run_test(
    integration: Integration,
    context: dict[str, object],
    session: UpstreamSession,
    emit: Callable[[dict[str, Any] | None], None],
) -> None:
    """Emit the run's events, then None; the ``raw`` events of a read precede its pieces."""
    seen = 0
    run: IntegrationRun | None = None

    def report_chunks() -> None:
        nonlocal seen
        chunks = run.chunks_since(seen) if run is not None else []
        seen += len(chunks)
        for chunk in chunks:
            emit({"type": "raw", "chunk": chunk})

    error: dict[str, str] | None = None
    try:
        try:
            async with stream_integration(
                integration, context, session=session, on_read=report_chunks
            ) as run:
                try:
                    async for batch in run.batches():
                        report_chunks()
                        for piece in batch:
                            emit({"type": "piece", "text": piece})
                except UpstreamError as exc:
                    error = {"code": exc.code, "message": exc.message}
                report_chunks()
            result = run.result
            done = {"text": result.text, "chunks": list(result.chunks), "status": result.status}
        except ConfigError as exc:  # a template that does not render, a URL that cannot be sent
            error = {"code": "invalid_definition", "message": str(exc)}
            done = {"text": "", "chunks": [], "status": None}
        emit({"type": "done", **done, "error": error})
    finally:
        emit(None)


class FlowText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=1_000_000)
    format: Literal["yaml", "json"] = "yaml"


@router.get("/flows")
async def list_flows(request: Request) -> list[dict[str, Any]]:
    """Every flow with its source (file, stored, builtin) and its document as YAML."""
    state = ServerState.of(request)
    catalog = state.catalog
    stored = {r.id: r.document for r in await state.db.definitions.list_definitions("flow")}
    found = []
    for flow_id in await catalog.flow_ids():
        flow = await catalog.flow(flow_id)
        if flow is None:
            continue
        source = "file" if flow_id in catalog.files.flows else "builtin"
        document = stored.get(flow_id)
        if document is not None and source != "file":
            source = "stored"
        else:
            dumped = flow.model_dump(mode="json", by_alias=True, exclude_unset=True)
            document = {"id": flow.id, **{k: v for k, v in dumped.items() if k != "kind"}}
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        found.append({"id": flow.id, "name": flow.name or flow.id, "source": source, "yaml": text})
    return found


@router.post("/flows/validate")
async def validate_flow(body: FlowText, request: Request) -> dict[str, Any]:
    """``{ok, document}`` for a valid flow, else ``{ok: false, errors: [{message, field,
    line, column}]}`` with the 1-based line of the failing field."""
    catalog = ServerState.of(request).catalog
    await catalog.sync_definitions()
    problem, document = _flow_problem(body.text, body.format, catalog.parse)
    if problem is not None:
        return {"ok": False, "errors": [problem]}
    return {"ok": True, "document": document, "errors": []}


def _flow_problem(
    text: str, text_format: str, parse: Callable[[dict[str, Any]], object]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(problem, None) when ``text`` is not a valid flow, else (None, its document)."""
    try:
        value = orjson.loads(text) if text_format == "json" else yaml.safe_load(text)
    except orjson.JSONDecodeError as exc:
        return _problem(f"invalid JSON: {exc.msg}", None, exc.lineno, exc.colno), None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context or 'unreadable'}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return _problem(message, None, line, column), None
    except yaml.YAMLError as exc:
        return _problem(f"invalid YAML: {exc}", None, None, None), None
    if not isinstance(value, dict):
        return _problem("expected a flow object (kind, id, nodes)", None, 1, 1), None
    if value.get("kind", "flow") != "flow":
        return _problem(f"expected kind: flow, got {value['kind']!r}", "kind", 1, 1), None
    document = {key: item for key, item in value.items() if key != "kind"}
    try:
        parse(document)
    except ConfigError as exc:
        line, column = _position(text, exc.field)
        return _problem(exc.message, exc.field, line, column), None
    return None, document


def _problem(
    message: str, field: str | None, line: int | None, column: int | None
) -> dict[str, Any]:
    return {"message": message, "field": field, "line": line, "column": column}


_FIELD_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _position(text: str, field: str | None) -> tuple[int | None, int | None]:
    """The 1-based line and column of ``field`` (``nodes.answer.text``, ``nodes[2]``) in
    ``text``, or of the deepest part of it that exists there (JSON is read as YAML)."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None, None
    if node is None:
        return None, None
    mark = node.start_mark
    for index, name in _FIELD_PART.findall(field or ""):
        found = _child(node, int(index) if index else name)
        if found is None:
            break
        mark, node = found[0].start_mark, found[1]
    return mark.line + 1, mark.column + 1


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    """(where to point, the node to descend into) for one part of a field name."""
    if isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        if isinstance(part, int):
            return (items[part], items[part]) if part < len(items) else None
        for item in items:  # a node named by its id: nodes.answer
            if _child(item, "id") is not None and _scalar(_child(item, "id")) == part:
                return item, item
        return None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    return None


def _scalar(found: tuple[yaml.Node, yaml.Node] | None) -> object:
    return found[1].value if found is not None and isinstance(found[1], yaml.ScalarNode) else None


@router.get("/chats")
async def list_chats(request: Request, flowId: str | None = None) -> list[dict[str, Any]]:
    chats = await ServerState.of(request).db.chats.list_chats(flowId)
    return [
        {
            "id": chat.id,
            "flowId": chat.flow_id,
            "modelId": chat.model_id,
            "createdAt": chat.created_at.isoformat(),
        }
        for chat in chats
    ]


@router.get("/chats/{chat_id}/messages")
async def list_chat_messages(chat_id: str, request: Request) -> list[dict[str, Any]]:
    records = await ServerState.of(request).db.messages.list_messages(chat_id)
    return [_message(record) for record in records]


def _message(record: MessageRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "role": record.role.value,
        "content": record.content,
        "status": record.status.value,
        "error": record.error,
        "errorCode": record.error_code,
        "usage": record.usage,
        "ttftMs": record.ttft_ms,
        "durationMs": record.duration_ms,
        "tools": [{"name": t.name, "input": t.input, "output": t.output} for t in record.tools],
        "sources": [d.to_dict() for d in record.sources],
        "createdAt": record.created_at.isoformat(),
    }
