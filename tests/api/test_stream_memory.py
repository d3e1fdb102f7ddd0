"""What a finished stream leaves behind: nothing that waits for the garbage collector.

The server raises the collector's thresholds while serving (``api/app.py``), so a cycle
per stream would stay in memory until a rare full collection: a thousand streams' worth
of readers, decoders and chunk logs carried into the next burst.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.api.test_eventstream import Recorder, post
from tests.api.test_slow_consumer import delta, running
from tests.integrations.upstream import Upstream

pytestmark = pytest.mark.anyio


@contextmanager
def saved_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable inside the block, kept for the test to see."""
    gc.collect()
    gc.garbage.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def sluice_objects(objects: list[object]) -> list[str]:
    names = []
    for item in objects:
        module = getattr(type(item), "__module__", "") or ""
        qualname = getattr(item, "__qualname__", "")
        code = getattr(item, "cr_code", None) or getattr(item, "ag_code", None)
        if module.startswith("sluice") or (code and "sluice" in code.co_filename):
            names.append(f"{type(item).__name__} {qualname}".strip())
    return names


async def test_a_finished_stream_leaves_no_cycles_of_its_own(tmp_path: Path, upstream: Upstream):
    answer = [delta("Hello"), delta(" there"), b"data: [DONE]\n\n"]
    async with running(tmp_path, upstream) as app:
        upstream.reply(answer)
        await post(app, Recorder())  # the first request's lazy set-up is not the stream's
        with saved_garbage() as garbage:
            for _ in range(3):
                upstream.reply(answer)
                recorder = Recorder()
                await post(app, recorder)
                assert b'"event":"end"' in recorder.messages[-1]["body"]
            gc.collect()
            assert sluice_objects(garbage) == []
