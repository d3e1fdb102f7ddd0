"""Chat calls against a fake server speaking each provider's protocol: tokens stream before
the upstream finishes, split tool-call arguments are executed right across two turns, and
the streamed text equals the non-streamed text."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from sluice.errors import StreamCutError, UpstreamStatusError
from sluice.providers.chat import (
    ChatDelta,
    ChatMessage,
    ChatStream,
    ReasoningDelta,
    TextDelta,
    ToolCallStarted,
    ToolSpec,
    open_chat,
    stream_chat,
)
from sluice.providers.model import ModelConfig
from tests.providers.fake_llm import Call, FakeLLM, Replay, Status, Turn

pytestmark = pytest.mark.anyio

PROVIDERS = ["openai", "azure_openai", "anthropic", "ollama", "gemini"]
KEY = "sk-fake-0123456789"
SECRETS = {"LLM_KEY": KEY}
ADD = ToolSpec(
    "add",
    "Add two integers.",
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)
QUESTION = [ChatMessage("system", "Be brief."), ChatMessage("user", "What is 2 + 40?")]


def model_for(provider: str, url: str, **fields: Any) -> ModelConfig:
    key = None if provider == "ollama" else "secret:LLM_KEY"
    return ModelConfig(
        id="m", provider=provider, model="fake-model", base_url=url, api_key=key, **fields
    )


async def deltas_of(chat: ChatStream) -> list[ChatDelta]:
    async with asyncio.timeout(5):
        return [delta async for delta in chat]


async def read_into(chat: ChatStream, said: list[ChatDelta]) -> None:
    async with asyncio.timeout(5):
        async for delta in chat:
            said.append(delta)


def text_of(deltas: list[ChatDelta]) -> str:
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tokens_arrive_before_the_upstream_finishes(llm: FakeLLM, session, provider):
    hold = asyncio.Event()
    llm.reply(Turn(text=["Hello", " there", "."], hold=hold))
    model = model_for(provider, llm.url)
    async with open_chat(model, QUESTION, session=session, secrets=SECRETS) as chat:
        async with asyncio.timeout(5):
            deltas = aiter(chat)
            first = await anext(deltas)
            while not isinstance(first, TextDelta):
                first = await anext(deltas)
            assert first == TextDelta("Hello")
            assert not hold.is_set()
            hold.set()
            rest = [delta async for delta in deltas]
    assert "Hello" + text_of(rest) == "Hello there." == chat.result.text
    assert chat.result.error is None


def tool_result_in(provider: str, body: dict[str, Any]) -> Any:
    """The tool result of the second request, in the provider's own format."""
    if provider in ("openai", "azure_openai"):
        assistant, tool = body["messages"][-2:]
        assert assistant["tool_calls"][0]["function"]["name"] == "add"
        assert assistant["tool_calls"][0]["id"] == tool["tool_call_id"] == "call_1"
        return tool["role"], tool["content"]
    if provider == "anthropic":
        assistant, user = body["messages"][-2:]
        use = assistant["content"][-1]
        assert (use["type"], use["id"], use["input"]) == ("tool_use", "call_1", {"a": 2, "b": 40})
        (result,) = user["content"]
        assert result["tool_use_id"] == "call_1"
        return result["type"], result["content"]
    if provider == "ollama":
        assistant, tool = body["messages"][-2:]
        assert assistant["tool_calls"][0]["function"]["arguments"] == {"a": 2, "b": 40}
        assert tool["tool_name"] == "add"
        return tool["role"], tool["content"]
    model, user = body["contents"][-2:]
    assert (model["role"], user["role"]) == ("model", "user")
    assert model["parts"][-1]["functionCall"] == {"name": "add", "args": {"a": 2, "b": 40}}
    (part,) = user["parts"]
    return "functionResponse", part["functionResponse"]


EXPECTED_RESULT = {
    "openai": ("tool", "42"),
    "azure_openai": ("tool", "42"),
    "anthropic": ("tool_result", "42"),
    "ollama": ("tool", "42"),
    "gemini": ("functionResponse", {"name": "add", "response": {"result": "42"}}),
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_split_tool_arguments_are_executed_and_the_result_sent_back(
    llm: FakeLLM, session, provider
):
    fragments = ['{"a"', ": 2, ", '"b": 4', "0}"]
    llm.reply(
        Turn(text=["Adding."], calls=[Call("call_1", "add", fragments)]),
        Turn(text=["2 + 40 ", "is 42."]),
    )
    model = model_for(provider, llm.url)
    first = await stream_chat(model, QUESTION, tools=[ADD], session=session, secrets=SECRETS)
    deltas = await deltas_of(first)
    (started,) = [d for d in deltas if isinstance(d, ToolCallStarted)]
    assert started.name == "add"
    assert deltas.index(started) > deltas.index(TextDelta("Adding."))
    (call,) = first.result.tool_calls
    arguments = call.arguments()
    assert arguments == {"a": 2, "b": 40}
    output = str(arguments["a"] + arguments["b"])
    assert call.id is not None
    conversation = [
        *QUESTION,
        first.result.message(),
        ChatMessage("tool", output, tool_call_id=call.id, name=call.name),
    ]
    second = await stream_chat(model, conversation, tools=[ADD], session=session, secrets=SECRETS)
    assert text_of(await deltas_of(second)) == "2 + 40 is 42." == second.result.text
    assert second.result.tool_calls == ()
    if provider in ("ollama", "gemini"):  # no ids on the wire: the call got one of ours
        assert call.id == "call_0"
    assert tool_result_in(provider, llm.requests[1].body) == EXPECTED_RESULT[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_chat_that_keeps_no_chunks_still_reads_text_and_tool_calls(
    llm: FakeLLM, session, provider
):
    llm.reply(Turn(text=["Adding."], calls=[Call("call_1", "add", ['{"a"', ": 2, ", '"b": 40}'])]))
    chat = await stream_chat(
        model_for(provider, llm.url),
        QUESTION,
        tools=[ADD],
        session=session,
        secrets=SECRETS,
        keep_chunks=False,
    )
    deltas = await deltas_of(chat)
    result = chat.result
    assert (text_of(deltas), result.text) == ("Adding.", "Adding.")
    assert [(c.name, c.arguments()) for c in result.tool_calls] == [("add", {"a": 2, "b": 40})]
    assert list(result.chunks) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streamed_and_whole_responses_give_the_same_result(llm: FakeLLM, session, provider):
    def turn() -> Turn:
        return Turn(
            text=["Über ", "naïve ", "café — ", "🙂\n", "done."],
            reasoning=["Let me ", "think."],
            calls=[Call("call_9", "add", ['{"a": 1', ', "b": 2}'])],
        )

    llm.reply(turn(), turn())
    model = model_for(provider, llm.url)
    results = []
    for stream in (True, False):
        chat = await stream_chat(
            model, QUESTION, tools=[ADD], session=session, stream=stream, secrets=SECRETS
        )
        deltas = await deltas_of(chat)
        assert text_of(deltas) == chat.result.text
        reasoning = "".join(d.text for d in deltas if isinstance(d, ReasoningDelta))
        assert reasoning == chat.result.reasoning == "Let me think."
        results.append(chat.result)
    streamed, whole = results
    assert streamed.text == whole.text == "Über naïve café — 🙂\ndone."
    assert [(c.name, c.arguments(), c.id) for c in streamed.tool_calls] == [
        (c.name, c.arguments(), c.id) for c in whole.tool_calls
    ]
    assert streamed.usage == whole.usage is not None
    assert streamed.finish_reason == whole.finish_reason is not None
    assert [r.body["stream"] for r in llm.requests if "stream" in r.body] in ([True, False], [])


async def test_openai_parallel_tool_calls_keep_their_order_and_arguments(llm: FakeLLM, session):
    calls = [
        Call("call_a", "add", ['{"a": 1,', ' "b": 2}']),
        Call("call_b", "add", ['{"a"', ': 3, "b": 4}']),
    ]
    llm.reply(Turn(calls=calls))
    chat = await stream_chat(
        model_for("openai", llm.url), QUESTION, tools=[ADD], session=session, secrets=SECRETS
    )
    deltas = await deltas_of(chat)
    assert [d for d in deltas if isinstance(d, ToolCallStarted)] == [
        ToolCallStarted("add", "call_a"),
        ToolCallStarted("add", "call_b"),
    ]
    assert [(c.id, c.arguments()) for c in chat.result.tool_calls] == [
        ("call_a", {"a": 1, "b": 2}),
        ("call_b", {"a": 3, "b": 4}),
    ]
    assert llm.requests[0].body["stream_options"] == {"include_usage": True}
    assert chat.result.usage == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


async def test_openai_request_shape(llm: FakeLLM, session):
    llm.reply(Turn(text=["ok"]))
    model = model_for("openai", llm.url, params={"temperature": 0.2})
    await deltas_of(
        await stream_chat(model, QUESTION, tools=[ADD], session=session, secrets=SECRETS)
    )
    (request,) = llm.requests
    assert request.path == "/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0.2
    assert body["stream"] is True
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["tools"][0]["function"]["name"] == "add"


async def test_azure_request_uses_deployment_api_version_and_api_key_header(llm: FakeLLM, session):
    llm.reply(Turn(text=["Hallo"]))
    model = model_for("azure_openai", llm.url, deployment="gpt4o-prod", api_version="2024-06-01")
    chat = await stream_chat(model, QUESTION, session=session, secrets=SECRETS)
    assert text_of(await deltas_of(chat)) == "Hallo"
    (request,) = llm.requests
    assert request.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert request.query == {"api-version": "2024-06-01"}
    assert request.headers["api-key"] == KEY
    assert "Authorization" not in request.headers


async def test_anthropic_request_puts_system_at_the_top_and_needs_max_tokens(llm: FakeLLM, session):
    llm.reply(Turn(text=["ok"]))
    model = model_for("anthropic", llm.url, params={"max_tokens": 100})
    await deltas_of(
        await stream_chat(model, QUESTION, tools=[ADD], session=session, secrets=SECRETS)
    )
    (request,) = llm.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"]
    body = request.body
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 100
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is 2 + 40?"}]}
    ]
    assert body["tools"][0]["input_schema"] == ADD.parameters


async def test_gemini_request_has_system_instruction_and_generation_config(llm: FakeLLM, session):
    llm.reply(Turn(text=["ok"]), Turn(text=["ok"]))
    model = model_for("gemini", llm.url, params={"temperature": 0.5, "max_tokens": 64})
    for stream in (True, False):
        chat = await stream_chat(
            model, QUESTION, tools=[ADD], session=session, stream=stream, secrets=SECRETS
        )
        await deltas_of(chat)
    streamed, whole = llm.requests
    assert streamed.path == "/v1beta/models/fake-model:streamGenerateContent"
    assert streamed.query == {"alt": "sse"}
    assert whole.path == "/v1beta/models/fake-model:generateContent"
    assert streamed.headers["x-goog-api-key"] == KEY
    body = streamed.body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 64}
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "add"


async def test_ollama_request_puts_sampling_params_under_options(llm: FakeLLM, session):
    llm.reply(Turn(text=["ok"]))
    model = model_for("ollama", llm.url, params={"temperature": 0, "max_tokens": 9, "think": True})
    await deltas_of(await stream_chat(model, QUESTION, session=session))
    body = llm.requests[0].body
    assert body["options"] == {"temperature": 0, "num_predict": 9}
    assert body["think"] is True
    assert body["stream"] is True
    assert "Authorization" not in llm.requests[0].headers


@pytest.mark.parametrize(
    ("provider", "error_body", "message"),
    [
        (
            "openai",
            {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}},
            "Incorrect API key",
        ),
        (
            "anthropic",
            {
                "type": "error",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            },
            "invalid x-api-key",
        ),
        (
            "gemini",
            {"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}},
            "API key not valid",
        ),
        ("ollama", {"error": "model 'x' not found"}, "model 'x' not found"),
    ],
)
async def test_status_error_carries_the_providers_message(
    llm: FakeLLM, session, provider, error_body, message
):
    llm.reply(Status(401, error_body))
    chat = await stream_chat(
        model_for(provider, llm.url), QUESTION, session=session, secrets=SECRETS
    )
    with pytest.raises(UpstreamStatusError, match=message) as caught:
        await deltas_of(chat)
    assert caught.value.status == 401
    assert chat.result.error is caught.value
    assert chat.result.chunks == [error_body]


async def test_status_error_echoing_the_key_is_scrubbed(llm: FakeLLM, session):
    llm.reply(Status(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    chat = await stream_chat(
        model_for("openai", llm.url), QUESTION, session=session, secrets=SECRETS
    )
    with pytest.raises(UpstreamStatusError) as caught:
        await deltas_of(chat)
    assert KEY not in str(caught.value)
    assert "[redacted]" in str(caught.value)


async def test_cut_stream_keeps_what_was_said(llm: FakeLLM, session):
    llm.reply(Turn(text=["Half ", "an answer"], cut=True))
    chat = await stream_chat(
        model_for("anthropic", llm.url), QUESTION, session=session, secrets=SECRETS
    )
    said: list[ChatDelta] = []
    with pytest.raises(StreamCutError):
        await read_into(chat, said)
    assert text_of(said) == chat.result.text == "Half an answer"
    assert isinstance(chat.result.error, StreamCutError)


async def test_the_first_text_of_a_burst_leaves_before_the_rest_is_parsed(llm: FakeLLM, session):
    # The whole answer in one write, as a fast upstream's first read often holds it: the
    # first text is one delta of its own, the rest of that read the next.
    chunks = [
        b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n',
        *(
            b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n' % word
            for word in (b"One", b" two", b" three")
        ),
        b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    ]
    body = b"".join(chunks)
    llm.reply(Replay(body, "text/event-stream", piece_bytes=len(body)))
    model = model_for("openai", llm.url)
    chat = await stream_chat(model, QUESTION, session=session, secrets=SECRETS)
    said = await deltas_of(chat)
    assert said == [TextDelta("One"), TextDelta(" two three")]
    assert chat.result.text == "One two three"
    assert len(chat.result.chunks) == 5


async def test_a_finished_chat_stream_leaves_no_cycles_of_its_own(llm: FakeLLM, session):
    # The server raises the collector's thresholds: a cycle per call (the call holding a
    # method of its stream, say) would keep every stream's reader and chunks until a
    # rare full collection.
    from tests.api.test_stream_memory import saved_garbage, sluice_objects

    model = model_for("openai", llm.url)
    llm.reply(Turn(text=["Hello", " there"]))
    await deltas_of(await stream_chat(model, QUESTION, session=session, secrets=SECRETS))
    with saved_garbage() as garbage:
        for _ in range(3):
            llm.reply(Turn(text=["Hello", " there"]))
            chat = await stream_chat(model, QUESTION, session=session, secrets=SECRETS)
            assert text_of(await deltas_of(chat)) == "Hello there"
            del chat
        gc.collect()
        assert sluice_objects(garbage) == []
