"""The chat API: ``POST /api/chat?stream=true&includeTokens=true``.

A chat (``chatInstanceId``, created on first use) runs the built-in chat flow, a prompt
node on the chat's model with the conversation's history. ``chatModelId`` picks a
configured ``kind: model``; without one, the model configured through the environment.
"""

from __future__ import annotations

from functools import lru_cache, partial

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sluice.api.auth import key_of
from sluice.api.errors import APIError
from sluice.api.eventstream import event_stream_response
from sluice.api.state import ServerState
from sluice.api.streaming import collect_run, stream_run
from sluice.api.wire import ChatContext, render_chat_json, render_chat_sse
from sluice.flows.model import Flow, PromptNode

router = APIRouter(prefix="/api", tags=["chat"])


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str = Field(min_length=1, max_length=100_000)
    chatInstanceId: str | None = Field(default=None, min_length=1, max_length=200)
    chatModelId: str | None = None
    stream: bool | None = None
    includeTokens: bool | None = None


@lru_cache(maxsize=256)
def chat_flow(model_id: str | None) -> Flow:
    """The built-in chat flow: one prompt node on ``model_id`` (or the default model).

    Made once per model (flows are frozen): not validated again, nor held once per live
    turn."""
    return Flow(
        id=f"chat:{model_id or 'default'}",
        nodes=[PromptNode(type="prompt", id="reply", model=model_id)],
    )


@router.post("/chat", response_model=None)
async def chat(
    body: ChatRequest,
    request: Request,
    stream: bool = False,
    includeTokens: bool = True,
) -> Response:
    """Served by ``sluice.api.fastlane`` (same checks, without FastAPI's per-request work);
    this route documents it and answers what the fast lane passes on."""
    authorization = request.headers.get("authorization", "")
    return await chat_turn(ServerState.of(request), body, authorization, stream, includeTokens)


async def chat_turn(
    state: ServerState,
    body: ChatRequest,
    authorization: str,
    stream: bool = False,
    include_tokens: bool = True,
) -> Response:
    """Start the chat's turn; its event stream, or its JSON answer once it has ended."""
    if state.settings.require_api_key and await key_of(state, authorization) is None:
        raise APIError(401, "unauthorized", "this server needs an API key")
    is_streaming = body.stream if body.stream is not None else stream
    if body.includeTokens is not None:
        include_tokens = body.includeTokens
    model_id = body.chatModelId
    if model_id is None and body.chatInstanceId is not None:
        existing = await state.db.chats.get_chat(body.chatInstanceId)
        model_id = existing.model_id if existing is not None else None
    if model_id is not None and model_id not in state.services.models:
        await state.catalog.sync_definitions()  # stored through the API, maybe elsewhere
    if model_id is not None and model_id not in state.services.models:
        raise APIError(404, "model_not_found", f"no model {model_id!r}", field="chatModelId")
    if model_id is None and state.services.default_model is None:
        raise APIError(
            400,
            "no_model",
            "no chat model: pass chatModelId or configure OPENAI_API_KEY, "
            "ANTHROPIC_API_KEY or OLLAMA_HOST",
            field="chatModelId",
        )
    turn = await state.turns.start(
        chat_flow(model_id), body.message, chat_id=body.chatInstanceId, model_id=model_id
    )
    context = ChatContext(turn.chat_id, turn.message_id)
    headers = {"X-Run-Id": turn.run_id}
    if not is_streaming:
        events = await collect_run(state, turn.run_id)
        return Response(
            render_chat_json(events, context), media_type="application/json", headers=headers
        )

    # A partial, not a closure: it is kept for resuming as long as the run is (~0.2 KB less).
    render = partial(render_chat_sse, context=context, include_tokens=include_tokens)
    state.remember_renderer(turn.run_id, render)
    return event_stream_response(
        stream_run(state, turn.run_id, render), headers=headers, headers_with_first=True
    )
