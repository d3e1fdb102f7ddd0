"""S1 with the processes pinned to CPUs: which core each one shares decides its figures.

On a 2-core machine S1's three busy processes (client, upstream, relay) share two cores,
and where the scheduler puts them moves the bare relay's added TTFT between ~0.2 and
~0.45 ms and Sluice's by more. Pinned, each placement reads the same to ~5 % from run to
run, so a change to the first token's path can be judged placement by placement:

- ``A``: client on CPU 0; upstream and relays on CPU 1 (the relay shares with the upstream);
- ``B``: client and upstream on CPU 0; relays on CPU 1 (the relay has a core of its own);
- ``C``: client and relays on CPU 0; upstream on CPU 1 (the relay shares with the client);
- ``D``: everything on CPU 0.

Each placement starts fresh servers (``run.services``), pins every thread of them, then
takes the targets in turn as S1 does (``--per`` requests each after 2 unmeasured, a new
order per cycle) from a client in this process. Prints, per placement, each target's TTFT
p50 and its added TTFT over the bare relay's (as ``s1_added_ttft_vs_bare``).

    python bench/relay/placement.py [--layouts A,B,C,D] [--cycles 6] [--per 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
import uvloop

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.relay import run  # after the path set-up above
from bench.relay.loadgen import WIRES, one_request

LAYOUTS = {  # (client, upstream, relays)
    "A": (0, 1, 1),
    "B": (0, 0, 1),
    "C": (0, 1, 0),
    "D": (0, 0, 0),
}
WARMUP = 2


def pin(pid: int, cpu: int) -> None:
    """Pin every thread of ``pid`` (a server's writer thread too) to ``cpu``."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


Spec = tuple[str, str, bytes, str]
"""A target: name, URL, request body, wire."""


async def measure(specs: list[Spec], cycles: int, per: int) -> dict[str, float]:
    """Each target's TTFT p50 (ms), its requests taken ``per`` in a row, targets shuffled."""
    sessions = {name: aiohttp.ClientSession() for name, *_ in specs}
    ttfts: dict[str, list[float]] = {name: [] for name in sessions}
    order = list(specs)
    shuffle = random.Random(0).shuffle
    try:
        for _ in range(cycles):
            shuffle(order)
            for name, url, body, wire in order:
                for index in range(WARMUP + per):
                    result = await one_request(sessions[name], url, body, WIRES[wire])
                    if index >= WARMUP and result.ttft_s is not None:
                        ttfts[name].append(result.ttft_s)
    finally:
        for session in sessions.values():
            await session.close()
    return {name: 1000 * statistics.median(values) for name, values in ttfts.items() if values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", default="A,B,C,D")
    parser.add_argument("--targets", default="direct,bare,sluice-flowise,sluice-chat")
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--per", type=int, default=20)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("expected at least 2 CPUs to place the processes on")
    names = args.targets.split(",")
    if not {"direct", "bare"} <= set(names):
        parser.error("--targets must include direct and bare (the ratios are taken over them)")
    options = argparse.Namespace(layers=False, profile=None, with_granian=False, with_litellm=False)
    scenario = run.FULL[0]
    print(f"S1 TTFT p50 ms (added TTFT vs the bare relay's); {args.cycles} cycles x {args.per}")
    for layout in args.layouts.split(","):
        client, upstream, relays = LAYOUTS[layout]
        with (
            tempfile.TemporaryDirectory(prefix="sluice-layouts-") as tmp,
            run.services(options, Path(tmp), (scenario,)) as running,
        ):
            os.sched_setaffinity(0, {client})
            pin(running["direct"][0].pid, upstream)
            for name in ("bare", "sluice-flowise"):
                pin(running[name][0].pid, relays)
            specs: list[Spec] = []
            for name in names:
                target = run.target_of(name, running)
                url, body = target.request(running[name][1], scenario)
                specs.append((name, url, body, target.wire))
            p50 = uvloop.run(measure(specs, args.cycles, args.per))
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        direct, bare = p50["direct"], p50["bare"]
        cells = [f"{n} {p50[n]:.3f} ({(p50[n] - direct) / (bare - direct):.2f})" for n in names]
        print(f"{layout} {LAYOUTS[layout]}: " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
