"""Sluice's upstream client against aiohttp's: time from sending a request to its first
body bytes, and to its end, against the fake upstream (started here) on loopback.

Both clients keep one connection alive and send the same request one at a time, in
interleaved rounds (the order swapped every other round); the figures are the medians
over each round's requests, then over the rounds, and the ratio is taken within each
round. This is the measure behind docs/architecture.md's "The upstream HTTP client".

    python bench/relay/client.py [--rounds 7 --requests 300 --tokens 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
import uvloop

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.relay.procs import Service, free_port  # after the path set-up above
from sluice.integrations.session import UpstreamSession

BODY = orjson.dumps(
    {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
)
HEADERS = {"Content-Type": "application/json"}
Timing = tuple[float, float]  # seconds to the first body bytes, to the end
One = Callable[[], Awaitable[Timing]]


def aiohttp_client(session: aiohttp.ClientSession, url: str) -> One:
    async def one() -> Timing:
        start = time.perf_counter()
        async with session.post(url, data=BODY, headers=HEADERS) as response:
            await response.content.readany()
            first = time.perf_counter() - start
            while await response.content.readany():
                pass
        return first, time.perf_counter() - start

    return one


def sluice_client(session: UpstreamSession, url: str) -> One:
    async def one() -> Timing:
        start = time.perf_counter()
        response = await session.request("POST", url, data=BODY, headers=HEADERS)
        try:
            await response.readany()
            first = time.perf_counter() - start
            while await response.readany():
                pass
        finally:
            response.release()
        return first, time.perf_counter() - start

    return one


async def measure(url: str, rounds: int, requests: int) -> None:
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as theirs:
        ours = UpstreamSession()
        try:
            clients = {"aiohttp": aiohttp_client(theirs, url), "sluice": sluice_client(ours, url)}
            for one in clients.values():  # connect and warm up, unmeasured
                for _ in range(20):
                    await one()
            first: dict[str, list[float]] = {name: [] for name in clients}
            total: dict[str, list[float]] = {name: [] for name in clients}
            ratios: list[float] = []
            for number in range(rounds):
                order = list(clients) if number % 2 == 0 else list(reversed(clients))
                medians: dict[str, float] = {}
                for name in order:
                    timings = [await clients[name]() for _ in range(requests)]
                    medians[name] = statistics.median(t[0] for t in timings)
                    first[name].append(medians[name])
                    total[name].append(statistics.median(t[1] for t in timings))
                ratios.append(medians["sluice"] / medians["aiohttp"])
                print(
                    f"round {number + 1}: first bytes aiohttp {medians['aiohttp'] * 1e6:.0f} us, "
                    f"sluice {medians['sluice'] * 1e6:.0f} us ({ratios[-1]:.2f}x)"
                )
        finally:
            await ours.close()
    print(f"\nmedians of {rounds} rounds x {requests} requests (us)")
    print(f"  {'client':<8} {'first bytes':>12} {'whole body':>12}")
    for name in first:
        print(
            f"  {name:<8} {statistics.median(first[name]) * 1e6:>12.0f}"
            f" {statistics.median(total[name]) * 1e6:>12.0f}"
        )
    print(f"  sluice / aiohttp, first bytes: {statistics.median(ratios):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    script = str(Path(__file__).with_name("upstream.py"))
    with Service.start("upstream", [sys.executable, script, "--port", str(port)], port):
        url = f"http://127.0.0.1:{port}/s/{args.tokens}/0/1/v1/chat/completions"
        uvloop.run(measure(url, args.rounds, args.requests))


if __name__ == "__main__":
    main()
