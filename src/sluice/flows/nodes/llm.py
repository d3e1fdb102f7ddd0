"""The prompt and agent nodes: LLM calls that stream, the agent with tools.

An agent's model may write text before it decides to call a tool ("Let me look that
up."). That text is not the answer, so an agent step holds its first
``PREAMBLE_HOLD_CHARS`` characters: if a tool call begins meanwhile, the held text
becomes a Status event (or is dropped, ``intermediate: hidden``); once the hold is full
without a tool call, it is the answer and streams on. A model that writes more than that
before calling a tool is rare; its earlier text then stays in the answer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from sluice.errors import ConfigError
from sluice.events import Event, Status, ToolEnd, ToolStart, ToolUse
from sluice.flows.model import AgentNode, PromptNode, ToolRef
from sluice.flows.nodes.basic import compiled
from sluice.flows.state import RunState
from sluice.integrations.templating import render_template
from sluice.providers.chat import (
    ChatMessage,
    ChatResult,
    ReasoningDelta,
    TextDelta,
    ToolCallStarted,
    ToolSpec,
    open_chat,
)
from sluice.providers.model import ModelConfig
from sluice.providers.toolcalls import ToolCall
from sluice.streams.buffering import make_buffer
from sluice.tools.registry import (
    BUILTINS,
    Tool,
    ToolError,
    entry_point_tool,
    integration_tool,
)

PREAMBLE_HOLD_CHARS = 200
THINKING = "Thinking…"


def _model(model_id: str | None, node_id: str, state: RunState) -> ModelConfig:
    if model_id is None:
        if state.services.default_model is None:
            raise ConfigError(
                "no model configured: set OPENAI_API_KEY (and OPENAI_BASE_URL), "
                "ANTHROPIC_API_KEY or OLLAMA_HOST, or name a kind: model",
                field=f"nodes.{node_id}.model",
            )
        return state.services.default_model
    model = state.services.models.get(model_id)
    if model is None:
        raise ConfigError(f"unknown model {model_id!r}", field=f"nodes.{node_id}.model")
    return model


def _messages(node: PromptNode | AgentNode, state: RunState) -> list[ChatMessage]:
    context = state.context()  # once for both: it copies the history and the variables
    system = render_template(compiled(node.system, f"nodes.{node.id}.system"), context)
    prompt = render_template(compiled(node.prompt, f"nodes.{node.id}.prompt"), context)
    messages = [ChatMessage("system", str(system))] if system else []
    if node.history:
        for item in state.input.history:
            content = str(item.get("content", ""))
            if item.get("role") == "assistant":
                messages.append(ChatMessage("assistant", content))
            else:
                messages.append(ChatMessage("user", content))
    messages.append(ChatMessage("user", str(prompt)))
    return messages


async def run_prompt(node: PromptNode, state: RunState) -> AsyncGenerator[Event, None]:
    model = _model(node.model, node.id, state)
    buffer = make_buffer(node.buffering)
    live = node.speak and node.stream
    has_thought = False
    async with open_chat(
        model,
        _messages(node, state),
        session=state.services.session,
        stream=node.stream,
        params=node.params,
        secrets=state.services.env,
        keep_chunks=state.keeps_chunks,
    ) as chat:
        async for delta in chat:
            if isinstance(delta, TextDelta) and live:
                for piece in buffer.decode(delta.text):
                    yield state.say(piece)
            elif isinstance(delta, ReasoningDelta) and not has_thought:
                has_thought = True
                yield Status(THINKING)
        result = chat.result
    if live:
        for piece in buffer.flush():
            yield state.say(piece)
    elif node.speak and result.text:
        yield state.say(result.text)
    _record(node.id, result, state)


def _record(node_id: str, result: ChatResult, state: RunState) -> None:
    state.add_usage(result.usage)
    state.nodes[node_id] = {
        "text": result.text,
        "chunks": result.chunks,  # parsed only if a later template reads it
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments_json, "id": c.id} for c in result.tool_calls
        ],
    }


def _tools(node: AgentNode, state: RunState) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for item in node.tools:
        ref = ToolRef(builtin=item) if isinstance(item, str) else item
        tool = _tool(ref, node.id, state)
        tools[tool.name] = tool
    return tools


def _tool(ref: ToolRef, node_id: str, state: RunState) -> Tool:
    where = f"nodes.{node_id}.tools"
    if ref.builtin is not None:
        if ref.builtin in BUILTINS:
            return BUILTINS[ref.builtin]()
        if ref.builtin in state.services.integrations:
            return integration_tool(
                state.services.integrations[ref.builtin], state.services.session
            )
        raise ConfigError(f"unknown tool {ref.builtin!r}", field=where)
    if ref.integration is not None:
        integration = state.services.integrations.get(ref.integration)
        if integration is None:
            raise ConfigError(f"unknown integration {ref.integration!r}", field=where)
        return integration_tool(
            integration,
            state.services.session,
            name=ref.name,
            description=ref.description,
            parameters=ref.parameters,
            status=ref.status,
        )
    assert ref.entry_point is not None
    return entry_point_tool(ref.entry_point, status=ref.status)


async def run_agent(node: AgentNode, state: RunState) -> AsyncGenerator[Event, None]:
    model = _model(node.model, node.id, state)
    tools = _tools(node, state)
    specs = [ToolSpec(t.name, t.description, t.parameters) for t in tools.values()]
    messages = _messages(node, state)
    for step in range(node.max_steps + 1):
        offered = specs if step < node.max_steps else []
        turn = _AgentTurn(node, state)
        async with open_chat(
            model,
            messages,
            tools=offered,
            session=state.services.session,
            stream=node.stream,
            params=node.params,
            secrets=state.services.env,
        ) as chat:
            async for delta in chat:
                for event in turn.take(delta):
                    yield event
            result = chat.result
        state.add_usage(result.usage)
        calls = [call for call in result.tool_calls if not call.is_server]
        for event in turn.finish(has_tool_calls=bool(calls)):
            yield event
        if not calls:
            _record(node.id, result, state)
            return
        messages.append(ChatMessage("assistant", result.text, tool_calls=tuple(calls)))
        for call in calls:
            async with aclosing(_call_tool(call, tools, state, messages)) as events:
                async for event in events:
                    yield event


class _AgentTurn:
    """One model call of an agent: decides whether its text is the answer or a preamble."""

    def __init__(self, node: AgentNode, state: RunState) -> None:
        self._node = node
        self._state = state
        self._buffer = make_buffer(node.buffering)
        self._held: list[str] = []
        self._held_chars = 0
        self._is_answer = False
        self._is_calling = False
        self._has_thought = False

    def take(self, delta: TextDelta | ReasoningDelta | ToolCallStarted) -> list[Event]:
        if isinstance(delta, ReasoningDelta):
            if self._has_thought:
                return []
            self._has_thought = True
            return [Status(THINKING)]
        if isinstance(delta, ToolCallStarted):
            self._is_calling = True
            return self._preamble()
        if self._is_answer and self._node.stream:
            return self._say(self._buffer.decode(delta.text))
        self._held.append(delta.text)
        self._held_chars += len(delta.text)
        if not self._is_calling and self._node.stream and self._held_chars > PREAMBLE_HOLD_CHARS:
            self._is_answer = True
            return self._say(self._buffer.decode(self._take_held()))
        return []

    def finish(self, *, has_tool_calls: bool) -> list[Event]:
        if has_tool_calls or self._is_calling:
            return self._preamble()
        return self._say(self._buffer.decode(self._take_held()) + self._buffer.flush())

    def _preamble(self) -> list[Event]:
        text = self._take_held().strip()
        if text and self._node.intermediate == "status":
            return [Status(text)]
        return []

    def _take_held(self) -> str:
        text = "".join(self._held)
        self._held, self._held_chars = [], 0
        return text

    def _say(self, pieces: Sequence[str]) -> list[Event]:
        return [self._state.say(piece) for piece in pieces if piece]


async def _call_tool(
    call: ToolCall, tools: dict[str, Tool], state: RunState, messages: list[ChatMessage]
) -> AsyncGenerator[Event, None]:
    tool = tools.get(call.name)
    error: str | None = None
    output = ""
    try:
        arguments = call.arguments()
    except ValueError as exc:
        arguments, error = {}, f"invalid arguments: {exc}"
    if tool is None:
        error = f"unknown tool {call.name!r}"
    else:
        yield Status(tool.status)
    yield ToolStart(call.name, arguments, call.id)
    started = time.perf_counter()
    if tool is not None and error is None:
        try:
            output = await tool.call(arguments)
        except ToolError as exc:
            error = exc.args[0] if exc.args else type(exc).__name__
    duration_ms = (time.perf_counter() - started) * 1000
    yield ToolEnd(call.name, output, call.id, duration_ms, error)
    state.tools.append(ToolUse(call.name, arguments, output, call.id, error))
    content = output if error is None else f"Error: {error}"
    messages.append(ChatMessage("tool", content, tool_call_id=call.id, name=call.name))
