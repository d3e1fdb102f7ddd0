"""The runner on flows that need no model: order of events, outputs, jumps, failures."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from sluice.errors import ConfigError
from sluice.events import End, Error, Sources, Start, Token
from sluice.flows.runner import run_flow
from sluice.flows.state import FlowServices, RunInput, RunState
from sluice.integrations.session import UpstreamSession
from tests.flows.helpers import collect, final, flow, said
from tests.integrations.upstream import Upstream, make_integration

pytestmark = pytest.mark.anyio


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


async def test_say_streams_words_then_final_and_end(session: UpstreamSession):
    events = await collect(
        flow({"id": "hello", "type": "say", "text": "Hi {{ question }}!"}), session, "Ada"
    )
    assert isinstance(events[0], Start)
    assert [e.text for e in events if isinstance(e, Token)] == ["Hi ", "Ada!"]
    assert final(events).text == "Hi Ada!"
    assert isinstance(events[-1], End)


async def test_an_unframed_run_says_the_same_without_start_and_end(
    session: UpstreamSession,
):
    # The run registry writes its own Start and End; it runs flows unframed.
    hello = flow({"id": "hello", "type": "say", "text": "Hi {{ question }}!"})
    services = FlowServices(session, integrations={})
    framed = [e async for e in run_flow(hello, RunInput("Ada"), services)]
    unframed = [e async for e in run_flow(hello, RunInput("Ada"), services, framed=False)]
    assert unframed == framed[1:-1]
    assert not any(isinstance(e, Start | End) for e in unframed)
    assert said(unframed) == final(unframed).text == "Hi Ada!"


async def test_an_unframed_run_that_fails_ends_with_its_final_not_end(
    session: UpstreamSession,
):
    broken = flow({"id": "answer", "type": "integration", "integration": "missing"})
    services = FlowServices(session, integrations={})
    events = [e async for e in run_flow(broken, RunInput("hi"), services, framed=False)]
    assert [type(e) for e in events] == [Error, type(final(events))]
    assert final(events).reason == "error"


async def test_say_with_stream_false_says_it_whole(session: UpstreamSession):
    events = await collect(
        flow({"id": "s", "type": "say", "text": "one two", "stream": False}), session
    )
    assert [e.text for e in events if isinstance(e, Token)] == ["one two"]


async def test_integration_then_say_are_separated_and_final_matches_tokens(
    upstream: Upstream, session: UpstreamSession
):
    upstream.reply([delta("An"), delta("swer"), b"data: [DONE]\n\n"])
    integration = make_integration(upstream.url, stream={"type": "sse", "mapping": "openai"})
    events = await collect(
        flow(
            {"id": "answer", "type": "integration", "integration": "test"},
            {"id": "bye", "type": "say", "text": "Anything else?"},
        ),
        session,
        integrations={"test": integration},
    )
    assert said(events) == final(events).text == "Answer\n\nAnything else?"


@pytest.mark.parametrize(
    ("buffering", "tokens"),
    [("none", ["one ", "two three", " four"]), ("words", ["one ", "two ", "three ", "four"])],
)
async def test_an_integration_says_a_reads_deltas_as_one_token_unless_buffered(
    upstream: Upstream, session: UpstreamSession, buffering: str, tokens: list[str]
):
    # Three chunks in one write (one read), then one more: unbuffered, a read is one token,
    # as a chat model's stream says it, except that the first text leaves alone (it does
    # not wait for the rest of its read); words buffering says each word.
    more = asyncio.Event()
    burst = delta("one ") + delta("two ") + delta("three")
    upstream.reply([burst, more, delta(" four"), b"data: [DONE]\n\n"])
    stream = {"type": "sse", "mapping": "openai", "buffering": buffering}
    integration = make_integration(upstream.url, stream=stream)
    services = FlowServices(session, integrations={"test": integration})
    answer = flow({"id": "answer", "type": "integration", "integration": "test"})
    said_: list[str] = []
    async with aclosing(run_flow(answer, RunInput("q"), services)) as events:
        async for event in events:
            if isinstance(event, Token):
                said_.append(event.text)
                if "".join(said_).startswith("one two "):  # the first read is out
                    more.set()
    assert said_ == tokens


async def test_mapping_none_says_nothing_and_exposes_chunks(
    upstream: Upstream, session: UpstreamSession
):
    upstream.reply([b'data: {"temp": 21}\n\n', b'data: {"temp": 23}\n\n'])
    integration = make_integration(upstream.url, stream={"type": "sse", "mapping": "none"})
    events = await collect(
        flow(
            {"id": "fetch", "type": "integration", "integration": "test"},
            {
                "id": "report",
                "type": "say",
                "text": "{{ nodes.fetch.chunks | map(attribute='temp') | join(', ') }}"
                " (HTTP {{ nodes.fetch.status }})",
                "stream": False,
            },
        ),
        session,
        integrations={"test": integration},
    )
    assert [e.text for e in events if isinstance(e, Token)] == ["21, 23 (HTTP 200)"]


async def test_only_a_flow_with_a_node_after_another_keeps_chunks(session: UpstreamSession):
    one = flow({"id": "a", "type": "say", "text": "x"})
    two = flow({"id": "a", "type": "say", "text": "x"}, {"id": "b", "type": "say", "text": "y"})
    services = FlowServices(session)
    assert [RunState(f, RunInput("q"), services).keeps_chunks for f in (one, two)] == [False, True]


async def test_set_and_condition_jump(session: UpstreamSession):
    events = await collect(
        flow(
            {
                "id": "init",
                "type": "set",
                "values": {"mood": "{{ 'good' if 'thanks' in question else 'bad' }}"},
            },
            {
                "id": "check",
                "type": "condition",
                "if": "{{ vars.mood == 'good' }}",
                "then": "happy",
            },
            {"id": "sad", "type": "say", "text": "Sorry.", "stream": False},
            {"id": "stop", "type": "condition", "if": "true", "then": "end"},
            {"id": "happy", "type": "say", "text": "Glad!", "stream": False},
            {"id": "end", "type": "say", "text": "Bye.", "stream": False},
        ),
        session,
        "thanks a lot",
    )
    assert said(events) == "Glad!\n\nBye."


async def test_upstream_error_keeps_what_was_said(upstream: Upstream, session: UpstreamSession):
    upstream.reply([delta("Par"), b'data: {"error": {"message": "overloaded"}}\n\n'])
    integration = make_integration(upstream.url, stream={"type": "sse", "mapping": "openai"})
    events = await collect(
        flow({"id": "a", "type": "integration", "integration": "test"}),
        session,
        integrations={"test": integration},
    )
    (error,) = [e for e in events if isinstance(e, Error)]
    assert error.code == "upstream_error"
    assert "overloaded" in error.message
    assert final(events).text == "Par"
    assert final(events).reason == "error"
    assert isinstance(events[-1], End)


async def test_closing_the_consumer_closes_the_upstream(
    upstream: Upstream, session: UpstreamSession
):
    hold = asyncio.Event()
    upstream.reply([delta("first"), hold, delta("never")])
    integration = make_integration(upstream.url, stream={"type": "sse", "mapping": "openai"})
    services = FlowServices(session, integrations={"test": integration})
    run = run_flow(
        flow({"id": "a", "type": "integration", "integration": "test"}), RunInput("q"), services
    )
    async with asyncio.timeout(5):
        async with aclosing(run) as events:
            async for event in events:
                if isinstance(event, Token):
                    break
        await upstream.disconnected.wait()


async def test_default_flow_offline_streams_passages_with_sources(session: UpstreamSession):
    from sluice.flows.default import default_flow

    events = await collect(
        default_flow(has_model=False), session, "How does sentence buffering work?"
    )
    (sources,) = [e for e in events if isinstance(e, Sources)]
    assert sources.documents
    tokens = [e for e in events if isinstance(e, Token)]
    assert len(tokens) > 10  # streamed, not said in one piece
    text = final(events).text
    assert "sentence" in text.lower()
    assert "OPENAI_API_KEY" in text


def test_flow_errors_name_the_node_and_field():
    with pytest.raises(ConfigError) as caught:
        flow({"id": "greet", "type": "say"})
    assert caught.value.field == "nodes.greet.text"
    with pytest.raises(ConfigError, match="unknown node 'nowhere'"):
        flow({"id": "c", "type": "condition", "if": "x", "then": "nowhere"})
