"""The integration executor against a real local upstream: streaming, results, errors."""

from __future__ import annotations

import asyncio
import logging
import socket

import orjson
import pytest

from sluice.errors import (
    ConfigError,
    StreamCutError,
    StreamErrorEvent,
    StreamFormatError,
    UpstreamConnectionError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from sluice.integrations.executor import IntegrationRun, execute_integration, stream_integration
from sluice.integrations.templating import template_context
from tests.integrations.upstream import CUT, Upstream, make_integration, pieces

pytestmark = pytest.mark.anyio

SECRET = "sk-live-0123456789abcdef"
TINY = {"connect_s": 1, "first_chunk_s": 0.2, "gap_s": 0.2, "total_s": 5}


def delta(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


DONE = b"data: [DONE]\n\n"


async def read_into(run: IntegrationRun, said: list[str]) -> None:
    async for piece in run:
        said.append(piece)


SSE = {"type": "sse", "mapping": "openai"}
CONTEXT = template_context(question="hi")


async def test_pieces_arrive_before_the_upstream_finishes(upstream: Upstream, session):
    go = asyncio.Event()
    upstream.reply([delta("Hello"), go, delta(" world"), DONE])
    integration = make_integration(f"{upstream.url}/v1/chat", stream=SSE)
    async with asyncio.timeout(5):
        async with stream_integration(integration, CONTEXT, session=session) as run:
            pieces_ = aiter(run)
            assert await anext(pieces_) == "Hello"
            assert run.result.text == "Hello"
            go.set()
            rest = [piece async for piece in pieces_]
    assert rest == [" world"]
    result = run.result
    assert (result.text, result.status, result.error) == ("Hello world", 200, None)
    assert result.chunks[0] == {"choices": [{"index": 0, "delta": {"content": "Hello"}}]}
    assert result.first_chunk_s is not None
    assert result.elapsed_s is not None


async def test_a_run_that_keeps_no_chunks_says_the_same_and_holds_none(upstream: Upstream, session):
    upstream.reply([delta("Hello"), delta(" world"), DONE])
    integration = make_integration(upstream.url, stream=SSE)
    async with (
        asyncio.timeout(5),
        stream_integration(integration, CONTEXT, session=session, keep_chunks=False) as run,
    ):
        said = [piece async for piece in run]
    assert (said, run.result.text, list(run.result.chunks)) == (
        ["Hello", " world"],
        "Hello world",
        [],
    )


async def test_batches_group_the_pieces_of_one_upstream_read(upstream: Upstream, session):
    go = asyncio.Event()
    upstream.reply([delta("a") + delta("b") + delta("c"), go, delta("d") + delta("e"), DONE])
    integration = make_integration(upstream.url, stream=SSE)
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        batches = aiter(run.batches())
        assert await anext(batches) == ["a"]  # the first text leaves alone
        assert await anext(batches) == ["b", "c"]
        go.set()
        assert [batch async for batch in batches] == [["d", "e"]]
    assert run.result.text == "abcde"


async def test_request_renders_method_url_headers_query_and_json_body(upstream, session):
    upstream.reply([delta("ok"), DONE])
    integration = make_integration(
        upstream.url + "/v1/{{ vars.path }}",
        stream=SSE,
        headers={"X-Key": "Bearer {{ vars.key }}"},
        query={"tag": ["a", "b"], "n": "{{ vars.n }}", "live": True},
        body={"model": "m", "stream": True, "messages": "{{ messages }}"},
    )
    context = template_context(
        question="hi",
        history=[{"role": "assistant", "content": "hello"}],
        vars={"path": "chat", "key": "k", "n": 3},
    )
    result = await execute_integration(integration, context, session=session)
    assert result.text == "ok"
    sent = upstream.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat")
    assert sent.query == {"tag": ["a", "b"], "n": ["3"], "live": ["true"]}
    assert sent.headers["X-Key"] == "Bearer k"
    assert sent.headers["Content-Type"] == "application/json"
    assert orjson.loads(sent.body) == {
        "model": "m",
        "stream": True,
        "messages": [
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "hi"},
        ],
    }


async def test_without_stream_block_the_whole_json_body_is_one_piece(upstream, session):
    body = b'{"answer": "42", "ok": true}'
    upstream.reply(pieces(body, 5), content_type="application/json")
    integration = make_integration(upstream.url, method="GET")
    async with stream_integration(integration, CONTEXT, session=session) as run:
        said = [piece async for piece in run]
    assert said == [body.decode()]
    assert run.result.chunks == [{"answer": "42", "ok": True}]
    assert (run.result.text, run.result.status) == (body.decode(), 200)
    assert upstream.requests[0].body == b""


async def test_without_stream_block_plain_text_is_its_own_chunk(upstream, session):
    upstream.reply([b"just ", b"text"], content_type="text/plain; charset=utf-8")
    result = await execute_integration(make_integration(upstream.url), CONTEXT, session=session)
    assert (result.text, result.chunks) == ("just text", ["just text"])


async def test_without_stream_block_body_labelled_json_that_is_not_fails(upstream, session):
    upstream.reply([b"{oops"], content_type="application/json")
    result = await execute_integration(make_integration(upstream.url), CONTEXT, session=session)
    assert isinstance(result.error, StreamFormatError)


async def test_status_error_carries_the_providers_message_and_body(upstream, session):
    body = {"error": {"message": "Rate limit reached for gpt-4o", "type": "requests"}}
    upstream.reply([orjson.dumps(body)], status=429, content_type="application/json")
    integration = make_integration(upstream.url, stream=SSE)
    async with stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(UpstreamStatusError) as caught:
            [piece async for piece in run]
    error = caught.value
    assert (error.status, error.is_transient) == (429, True)
    assert "Rate limit reached for gpt-4o" in str(error)
    assert "429" in str(error)
    assert run.result.error is error
    assert (run.result.status, run.result.chunks) == (429, [body])


async def test_status_error_without_json_uses_the_body_text(upstream, session):
    upstream.reply([b"Bad gateway"], status=502, content_type="text/html")
    result = await execute_integration(
        make_integration(upstream.url, stream=SSE), CONTEXT, session=session
    )
    assert isinstance(result.error, UpstreamStatusError)
    assert "Bad gateway" in result.error.message
    assert result.error.is_transient


async def test_permanent_status_error_is_not_transient(upstream, session):
    upstream.reply([b'{"detail": "Not authenticated"}'], status=401)
    result = await execute_integration(make_integration(upstream.url), CONTEXT, session=session)
    assert isinstance(result.error, UpstreamStatusError)
    assert "Not authenticated" in result.error.message
    assert not result.error.is_transient


async def test_secret_reaches_upstream_but_never_errors_logs_or_chunks(
    upstream, session, monkeypatch, caplog
):
    monkeypatch.setenv("SLUICE_TEST_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}."}}
    upstream.reply([orjson.dumps(echo)], status=401, content_type="application/json")
    integration = make_integration(
        upstream.url + "/chat",
        headers={"Authorization": "Bearer {{ secrets.SLUICE_TEST_API_KEY }}"},
        query={"key": "{{ secrets.SLUICE_TEST_API_KEY }}"},
        stream=SSE,
    )
    async with stream_integration(integration, CONTEXT, session=session) as run:
        assert SECRET not in repr(run.request)
        with pytest.raises(UpstreamStatusError) as caught:
            [piece async for piece in run]
    assert upstream.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert upstream.requests[0].query["key"] == [SECRET]
    for text in (str(caught.value), repr(caught.value), repr(run.result), caplog.text):
        assert SECRET not in text
    assert "Incorrect API key provided: [redacted]." in str(caught.value)


async def test_secret_echoed_in_a_stream_error_event_is_scrubbed(upstream, session, monkeypatch):
    monkeypatch.setenv("SLUICE_TEST_API_KEY", SECRET)
    error = {"error": {"message": f"key {SECRET} was revoked", "code": 401}}
    upstream.reply([delta("Hi"), b"data: " + orjson.dumps(error) + b"\n\n"])
    integration = make_integration(
        upstream.url, headers={"X-Key": "{{ secrets.SLUICE_TEST_API_KEY }}"}, stream=SSE
    )
    result = await execute_integration(integration, CONTEXT, session=session)
    assert isinstance(result.error, StreamErrorEvent)
    assert result.text == "Hi"
    assert SECRET not in str(result.error)
    assert SECRET not in repr(result.error.error)
    assert SECRET not in repr(result.chunks)
    assert SECRET not in repr(result.state)


async def test_stall_before_headers_is_a_first_chunk_timeout(upstream, session):
    upstream.reply([DONE], before_headers=asyncio.Event())
    integration = make_integration(upstream.url, stream=SSE, timeouts=TINY)
    async with asyncio.timeout(5):
        result = await execute_integration(integration, CONTEXT, session=session)
    assert isinstance(result.error, UpstreamTimeoutError)
    assert (result.error.phase, result.error.timeout_s, result.status) == ("first_chunk", 0.2, None)
    assert result.error.is_transient


async def test_stall_after_headers_is_a_first_chunk_timeout(upstream, session):
    upstream.reply([asyncio.Event()])
    integration = make_integration(upstream.url, stream=SSE, timeouts=TINY)
    async with asyncio.timeout(5):
        result = await execute_integration(integration, CONTEXT, session=session)
    assert isinstance(result.error, UpstreamTimeoutError)
    assert (result.error.phase, result.status) == ("first_chunk", 200)


async def test_stall_mid_stream_is_a_gap_timeout_that_keeps_what_was_said(upstream, session):
    upstream.reply([delta("Hi"), asyncio.Event()])
    integration = make_integration(upstream.url, stream=SSE, timeouts=TINY)
    said: list[str] = []
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await read_into(run, said)
    assert caught.value.phase == "gap"
    assert said == ["Hi"]
    assert (run.result.text, len(run.result.chunks)) == ("Hi", 1)


async def test_a_stall_is_a_gap_timeout_with_time_held_buffering_too(upstream, session):
    upstream.reply([delta("Hi there"), asyncio.Event()])  # read from a task per read
    stream = {**SSE, "buffering": "words", "max_hold": {"ms": 50}}
    timeouts = {**TINY, "total_s": 60}  # only the gap can end it
    integration = make_integration(upstream.url, stream=stream, timeouts=timeouts)
    said: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await read_into(run, said)
    assert caught.value.phase == "gap"
    assert loop.time() - started < 2  # the 0.2 s gap, not the test's own 5 s guard
    assert "".join(said) == "Hi there"


async def test_a_gap_shorter_than_the_first_chunk_wait_is_kept(upstream, session):
    upstream.reply([delta("Hi"), asyncio.Event()])
    timeouts = {"connect_s": 1, "first_chunk_s": 30, "gap_s": 0.2, "total_s": 60}
    integration = make_integration(upstream.url, stream=SSE, timeouts=timeouts)
    said: list[str] = []
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await read_into(run, said)
    assert (caught.value.phase, caught.value.timeout_s) == ("gap", 0.2)


async def test_timeout_s_is_the_total_deadline(upstream, session):
    upstream.reply([delta("Hi"), asyncio.Event()])
    integration = make_integration(
        upstream.url, stream=SSE, timeout_s=0.3, timeouts={"first_chunk_s": 5, "gap_s": 5}
    )
    async with asyncio.timeout(5):
        result = await execute_integration(integration, CONTEXT, session=session)
    assert isinstance(result.error, UpstreamTimeoutError)
    assert (result.error.phase, result.error.timeout_s, result.text) == ("total", 0.3, "Hi")


async def test_buffered_text_is_released_when_the_body_breaks_off(upstream, session):
    upstream.reply([delta("Hel"), delta("lo wor"), asyncio.Event()])
    stream = {**SSE, "buffering": "words"}
    integration = make_integration(upstream.url, stream=stream, timeouts=TINY)
    said: list[str] = []
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(UpstreamTimeoutError):
            await read_into(run, said)
    assert "".join(said) == "Hello wor"
    assert run.result.text == "Hello wor"


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def test_refused_connection_is_a_connection_error(refused_url, session):
    result = await execute_integration(
        make_integration(refused_url, stream=SSE), CONTEXT, session=session
    )
    assert isinstance(result.error, UpstreamConnectionError)
    assert result.error.is_transient
    assert result.status is None


async def test_connection_that_never_opens_is_a_connect_timeout(unaccepting_url, session):
    timeouts = {**TINY, "connect_s": 0.2, "first_chunk_s": 5}
    integration = make_integration(unaccepting_url, stream=SSE, timeouts=timeouts)
    async with asyncio.timeout(5):
        result = await execute_integration(integration, CONTEXT, session=session)
    assert isinstance(result.error, UpstreamTimeoutError)
    assert (result.error.phase, result.error.timeout_s) == ("connect", 0.2)


async def test_stream_that_ends_without_its_end_marker_is_cut(upstream, session):
    upstream.reply([delta("Hi"), delta(" there")])
    result = await execute_integration(
        make_integration(upstream.url, stream=SSE), CONTEXT, session=session
    )
    assert isinstance(result.error, StreamCutError)
    assert result.text == "Hi there"
    assert len(result.chunks) == 2


async def test_connection_aborted_mid_stream_is_cut_and_keeps_what_was_said(upstream, session):
    upstream.reply([delta("Hi"), CUT])
    integration = make_integration(upstream.url, stream=SSE)
    said: list[str] = []
    async with asyncio.timeout(5), stream_integration(integration, CONTEXT, session=session) as run:
        with pytest.raises(StreamCutError):
            await read_into(run, said)
    assert said == ["Hi"]
    assert run.result.chunks == [orjson.loads(delta("Hi")[6:])]


async def test_error_object_mid_stream_is_a_stream_error_event(upstream, session):
    error = {"error": {"message": "Token limit reached", "code": 400}}
    upstream.reply([delta("Partial"), b"data: " + orjson.dumps(error) + b"\n\n", DONE])
    result = await execute_integration(
        make_integration(upstream.url, stream=SSE), CONTEXT, session=session
    )
    assert isinstance(result.error, StreamErrorEvent)
    assert "Token limit reached" in result.error.message
    assert result.text == "Partial"


async def test_unparsable_chunk_is_a_format_error_after_what_was_said(upstream, session):
    upstream.reply([delta("Fine"), b"data: {not json\n\n", DONE])
    result = await execute_integration(
        make_integration(upstream.url, stream=SSE), CONTEXT, session=session
    )
    assert isinstance(result.error, StreamFormatError)
    assert result.text == "Fine"


async def test_leaving_the_run_early_disconnects_the_upstream(upstream, session):
    upstream.reply([delta("Hi"), asyncio.Event()])
    integration = make_integration(upstream.url, stream=SSE)
    async with asyncio.timeout(5):
        async with stream_integration(integration, CONTEXT, session=session) as run:
            async for piece in run:
                assert piece == "Hi"
                break
        await upstream.disconnected.wait()
    assert run.result.error is None


async def test_cancelling_the_reader_disconnects_the_upstream(upstream, session):
    first = asyncio.Event()
    upstream.reply([delta("Hi"), asyncio.Event()])
    integration = make_integration(upstream.url, stream=SSE)

    async def consume() -> None:
        async with stream_integration(integration, CONTEXT, session=session) as run:
            async for _ in run:
                first.set()

    async with asyncio.timeout(5):
        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await upstream.disconnected.wait()


async def test_failing_template_raises_config_error_before_any_request(upstream, session):
    integration = make_integration(upstream.url + "/{{ env.SLUICE_SURELY_UNSET_VAR }}")
    with pytest.raises(ConfigError, match=r"request\.url: .*env\.SLUICE_SURELY_UNSET_VAR"):
        async with stream_integration(integration, CONTEXT, session=session):
            pass
    assert upstream.requests == []


@pytest.mark.parametrize("url", ["ftp://files.test/x", "http://", "not a url"])
async def test_url_that_cannot_be_requested_is_a_config_error(session, url):
    integration = make_integration("{{ vars.url }}")
    context = template_context(vars={"url": url})
    with pytest.raises(ConfigError, match=r"^integration test: request\.url: the URL cannot be"):
        await execute_integration(integration, context, session=session)


async def test_each_request_logs_one_info_line(upstream, session, caplog):
    caplog.set_level(logging.INFO, logger="sluice.integrations.upstream")
    upstream.reply([delta("Hi"), DONE])
    await execute_integration(make_integration(upstream.url, stream=SSE), CONTEXT, session=session)
    (record,) = caplog.records
    assert record.getMessage().startswith("integration test: POST 127.0.0.1 -> 200 in ")


async def test_connection_returns_to_the_pool_after_a_full_read(upstream, session):
    upstream.reply([delta("a"), DONE])
    upstream.reply([delta("b"), DONE])
    integration = make_integration(upstream.url, stream=SSE)
    first = await execute_integration(integration, CONTEXT, session=session)
    second = await execute_integration(integration, CONTEXT, session=session)
    assert (first.text, second.text) == ("a", "b")
    first_peer, second_peer = (request.peer for request in upstream.requests)
    assert first_peer is not None
    assert first_peer == second_peer  # one connection, kept alive


async def test_a_cookie_one_upstream_response_sets_never_rides_on_the_next_request(
    upstream: Upstream, session
):
    upstream.reply([delta("for alice"), DONE], headers={"Set-Cookie": "sid=alice; Path=/"})
    upstream.reply([delta("for bob"), DONE])
    host = upstream.url.replace("127.0.0.1", "localhost")  # a jar keeps no cookie of an IP
    integration = make_integration(f"{host}/v1/chat", stream=SSE)
    async with asyncio.timeout(5):
        for _ in range(2):
            async with stream_integration(integration, CONTEXT, session=session) as run:
                async for _piece in run:
                    pass
    assert [request.headers.get("Cookie") for request in upstream.requests] == [None, None]
