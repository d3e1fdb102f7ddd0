"""The load generator: N concurrent streaming requests, timed, summarised as one JSON line.

Per request it records the time to the first token (the first event carrying answer text),
the total time and the tokens received (every token of the fake upstream is a space and a
word, so tokens = spaces in the text, whatever the server merged). A request is an error
when it fails, answers other than 200, carries an error event (Flowise ``error``, chat API
``error``, an OpenAI ``error`` object), or ends with fewer tokens than ``--expect-tokens``.

With ``--interleave``, a JSON list of targets (``name``, ``url``, ``body``, ``wire``) is
measured in turn, ``--run-length`` requests to one target (after ``--run-warmup``
unmeasured ones) and then the next, in a new order each cycle, one request at a time: the
machine's drift over the run falls on every target alike, while each server is measured
warm, as in a run of its own. The summary then has one entry per target name.

``--wire`` says how to read the stream: ``openai`` (``choices[0].delta.content``),
``flowise`` (``{"event": "token", "data": …}``) or ``chat`` (``{"type": "token", "content":
…}``).

    python bench/relay/loadgen.py URL --body JSON --wire openai --requests 200 --concurrency 1
    python bench/relay/loadgen.py --interleave '[{"name": …, "url": …, "body": …, "wire": …}]'
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson
import uvloop

logger = logging.getLogger("bench.loadgen")


def _openai(message: object) -> str:
    if isinstance(message, dict):
        choices = message.get("choices")
        if choices:
            delta = choices[0].get("delta") or {}
            return delta.get("content") or ""
    return ""


def _flowise(message: object) -> str:
    if isinstance(message, dict) and message.get("event") == "token":
        return str(message.get("data") or "")
    return ""


def _chat(message: object) -> str:
    if isinstance(message, dict) and message.get("type") == "token":
        return str(message.get("content") or "")
    return ""


def _is_error(message: object) -> bool:
    return isinstance(message, dict) and (
        message.get("event") == "error" or message.get("type") == "error" or "error" in message
    )


WIRES: dict[str, Callable[[object], str]] = {"openai": _openai, "flowise": _flowise, "chat": _chat}


@dataclass(slots=True)
class Result:
    ttft_s: float | None
    total_s: float
    tokens: int
    error: str | None


async def one_request(
    session: aiohttp.ClientSession, url: str, body: bytes, text_of: Callable[[object], str]
) -> Result:
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    pending = b""
    error: str | None = None
    try:
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            if response.status != 200:
                await response.read()
                return Result(None, time.perf_counter() - started, 0, f"http {response.status}")
            async for data in response.content.iter_any():
                lines = (pending + data).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if not line.startswith(b"data:") or line.endswith(b"[DONE]"):
                        continue
                    message = orjson.loads(line[5:])
                    if _is_error(message):  # e.g. said in full but not stored
                        error = f"error event: {message}"[:120]
                    text = text_of(message)
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        tokens += text.count(" ")
    except (aiohttp.ClientError, orjson.JSONDecodeError, TimeoutError) as exc:
        return Result(None, time.perf_counter() - started, tokens, type(exc).__name__)
    ended = time.perf_counter()
    return Result(None if first is None else first - started, ended - started, tokens, error)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def summarise(results: list[Result], wall_s: float, expect_tokens: int) -> dict[str, object]:
    errors: dict[str, int] = {}
    for r in results:
        reason = r.error or (
            f"short ({r.tokens} tokens)" if expect_tokens and r.tokens < expect_tokens else None
        )
        if reason:
            errors[reason] = errors.get(reason, 0) + 1
    ttft = [r.ttft_s * 1000 for r in results if r.ttft_s is not None]
    total = [r.total_s * 1000 for r in results if r.error is None]
    tokens = sum(r.tokens for r in results)

    def pct(values: list[float]) -> dict[str, float | None]:
        return {f"p{q}": percentile(values, q / 100) for q in (50, 90, 99)}

    return {
        "requests": len(results),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "ttft_ms": pct(ttft),
        "total_ms": pct(total),
        "mean_total_ms": statistics.fmean(total) if total else None,
        "tokens": tokens,
        "wall_s": wall_s,
        "tokens_per_s": tokens / wall_s if wall_s > 0 else None,
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    text_of = WIRES[args.wire]
    body = args.body.encode()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.timeout_s)
    results: list[Result] = []
    next_index = iter(range(args.requests))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in next_index:
            results.append(await one_request(session, args.url, body, text_of))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(args.warmup):
            await one_request(session, args.url, body, text_of)
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(min(args.concurrency, args.requests)):
                group.create_task(worker(session))
        wall_s = time.perf_counter() - started
    return summarise(results, wall_s, args.expect_tokens)


async def run_interleaved(args: argparse.Namespace) -> dict[str, object]:
    """``--requests`` requests per target, one at a time, the targets in turn."""
    targets = orjson.loads(args.interleave)
    timeout = aiohttp.ClientTimeout(total=args.timeout_s)
    sessions = [  # one client per target, as separate runs would have
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout)
        for _ in targets
    ]
    results: list[list[Result]] = [[] for _ in targets]
    spent = [0.0 for _ in targets]
    try:

        async def one(i: int) -> Result:
            t = targets[i]
            return await one_request(sessions[i], t["url"], t["body"].encode(), WIRES[t["wire"]])

        for _ in range(args.warmup):
            for i in range(len(targets)):
                await one(i)
        order = list(range(len(targets)))
        shuffle = random.Random(args.seed).shuffle
        runs = -(-args.requests // args.run_length)
        for cycle in range(runs):
            shuffle(order)  # a new order per cycle: no target always follows the same one
            for i in order:
                for _ in range(args.run_warmup):  # the server warms up again, unmeasured
                    await one(i)
                for _ in range(min(args.run_length, args.requests - cycle * args.run_length)):
                    result = await one(i)
                    results[i].append(result)
                    spent[i] += result.total_s
    finally:
        for session in sessions:
            await session.close()
    return {
        t["name"]: summarise(results[i], spent[i], args.expect_tokens)
        for i, t in enumerate(targets)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--interleave", help="a JSON list of targets, measured in turn")
    parser.add_argument("--body", help="the JSON request body")
    parser.add_argument(
        "--run-length", type=int, default=20, help="--interleave: requests to a target in a row"
    )
    parser.add_argument(
        "--run-warmup", type=int, default=2, help="--interleave: unmeasured ones before them"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the --interleave orders")
    parser.add_argument("--wire", choices=sorted(WIRES), default="openai")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--expect-tokens", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=0, help="requests before timing")
    parser.add_argument("--timeout-s", type=float, default=120.0, help="per request")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.interleave:
        summary = uvloop.run(run_interleaved(args))
    elif args.url and args.body:
        summary = uvloop.run(run(args))
    else:
        parser.error("give URL and --body, or --interleave")
    sys.stdout.buffer.write(orjson.dumps(summary) + b"\n")


if __name__ == "__main__":
    main()
