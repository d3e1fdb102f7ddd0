"""Sum a py-spy raw profile of ``sluice serve`` by part of the server (docs/performance.md).

Only the event loop's thread is counted (stacks through uvicorn's ``Server.run``), without
the lifespan's start-up. Each sample goes to the group of its innermost frame that belongs
to one; the rest is the event loop's own C code and the standard library.

    python bench/relay/run.py --scenarios s2 --rounds 3 --wires flowise \\
        --profile "py-spy record -r 400 -f raw -o s2.raw --"
    python bench/relay/profile_summary.py s2.raw
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

GROUPS = (
    ("the pipeline (SSE framing, JSON, mapping, buffering)", ("sluice/streams/", "<sluice")),
    ("the upstream client (protocol, parser callbacks, reads)", ("sluice/integrations/http1.py",)),
    # Before the upstream client was Sluice's own (profiles taken then):
    ("aiohttp's client read path", ("aiohttp/streams.py",)),
    (
        "aiohttp's protocol and HTTP parser",
        ("aiohttp/client_proto.py", "aiohttp/http_parser", "aiohttp/base_protocol"),
    ),
    ("uvicorn's send", ("uvicorn/protocols",)),
    (
        "the response side (EventStreamResponse, RunStream, follow, renderers)",
        (
            "sluice/api/eventstream.py",
            "sluice/api/streaming.py",
            "sluice/runs/follow.py",
            "sluice/api/wire/",
        ),
    ),
    ("the run log and registry", ("sluice/runs/",)),
    ("the turn's hooks", ("sluice/api/turns.py",)),
    ("the flow's and integration's layers", ("sluice/flows/", "sluice/integrations/")),
    ("events", ("sluice/events.py",)),
)
REST = "the event loop itself (uvloop's C code) and the standard library"


def group_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, keys in GROUPS:
            if any(key in frame for key in keys):
                return name
    return REST


def summarise(lines: list[str]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if "Server.run" not in stack or "lifespan" in stack or not count.isdigit():
            continue
        counts[group_of(stack.split(";"))] += int(count)
        total += int(count)
    return counts, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, help="py-spy's output with -f raw")
    args = parser.parse_args()
    counts, total = summarise(args.raw.read_text().splitlines())
    for name, count in counts.most_common():
        print(f"{100 * count / max(total, 1):5.1f} %  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
