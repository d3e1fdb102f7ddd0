"""A fast fake OpenAI-compatible upstream: ``POST …/chat/completions`` with ``stream: true``.

Each token is one realistic ``chat.completion.chunk`` (~300 bytes), rendered once at start;
the stream ends with a ``finish_reason: stop`` chunk and ``data: [DONE]``. Every token is a
space and a word, so a reader counts the tokens it got as the spaces in the text.

The shape of a reply comes from the command line (``--tokens``, ``--delay-ms`` between
writes, ``--per-write`` tokens in one write) or from the path, so that one server serves
every scenario: ``/s/{tokens}/{delay_ms}/{per_write}/v1/chat/completions``.

    python bench/relay/upstream.py --port 9100 [--tokens 50 --delay-ms 0 --per-write 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import orjson
import uvloop
from aiohttp import web

WORDS = (
    "the quick brown fox jumps over a lazy dog while streaming servers relay every token "
    "to the people who wait for it and store each conversation whole"
).split()
MAX_TOKENS = 100_000

logger = logging.getLogger("bench.upstream")


def token_text(index: int) -> str:
    """The text of token ``index``: a space then a word (no other spaces)."""
    return " " + WORDS[index % len(WORDS)]


def _chunk(delta: dict[str, str], finish_reason: str | None) -> bytes:
    chunk = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion.chunk",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class Script:
    """Every chunk a reply can hold, rendered once."""

    def __init__(self) -> None:
        first = _chunk({"role": "assistant", "content": token_text(0)}, None)
        self.chunks = [first] + [
            _chunk({"content": token_text(i)}, None) for i in range(1, len(WORDS))
        ]
        self.last = _chunk({}, "stop") + b"data: [DONE]\n\n"

    def writes(self, tokens: int, per_write: int) -> list[bytes]:
        """The body cut into writes of ``per_write`` tokens; the end goes with the last."""
        n = len(self.chunks)
        # Word i of a reply is chunk i % n, except that only the first carries the role.
        body = [self.chunks[0]] + [self.chunks[i % n or 1] for i in range(1, tokens)]
        cut = [b"".join(body[i : i + per_write]) for i in range(0, tokens, per_write)]
        if cut:
            cut[-1] += self.last
        return cut or [self.last]


class Upstream:
    def __init__(self, tokens: int, delay_ms: float, per_write: int) -> None:
        self.defaults = (tokens, delay_ms, per_write)
        self.script = Script()
        self._cache: dict[tuple[int, int], list[bytes]] = {}

    async def complete(self, request: web.Request) -> web.StreamResponse:
        tokens, delay_ms, per_write = self.defaults
        if "tokens" in request.match_info:
            tokens = int(request.match_info["tokens"])
            delay_ms = float(request.match_info["delay_ms"])
            per_write = int(request.match_info["per_write"])
        if not (1 <= tokens <= MAX_TOKENS and per_write >= 1 and delay_ms >= 0):
            raise web.HTTPBadRequest(text="bad shape")
        body = await request.read()
        if b'"stream":true' not in body.replace(b" ", b""):
            raise web.HTTPBadRequest(text="only stream: true is served")
        writes = self._cache.get((tokens, per_write))
        if writes is None:
            writes = self._cache[(tokens, per_write)] = self.script.writes(tokens, per_write)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        delay_s = delay_ms / 1000
        for i, data in enumerate(writes):
            if delay_s and i:
                await asyncio.sleep(delay_s)
            await response.write(data)
        await response.write_eof()
        return response


def make_app(upstream: Upstream) -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", upstream.complete)
    app.router.add_post("/chat/completions", upstream.complete)
    path = "/s/{tokens:\\d+}/{delay_ms:[\\d.]+}/{per_write:\\d+}/v1/chat/completions"
    app.router.add_post(path, upstream.complete)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--per-write", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = make_app(Upstream(args.tokens, args.delay_ms, args.per_write))
    uvloop.install()
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
