"""The integration node: stream an integration's pieces to the user, then expose its outputs."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from sluice.errors import ConfigError
from sluice.events import Event
from sluice.flows.model import IntegrationNode
from sluice.flows.state import RunState
from sluice.integrations.executor import stream_integration
from sluice.streams.types import Buffering


async def run_integration(node: IntegrationNode, state: RunState) -> AsyncGenerator[Event, None]:
    integration = state.services.integrations.get(node.integration)
    if integration is None:
        raise ConfigError(f"unknown integration {node.integration!r}", field=f"nodes.{node.id}")
    speaks_live = node.speak and node.stream
    # Unbuffered pieces are the chunks' deltas: a read's are said as one token, as a chat
    # model's stream says them. Words and sentences stay apart (speech waits on sentences).
    joins_reads = integration.stream is not None and integration.stream.buffering is Buffering.NONE
    async with stream_integration(
        integration,
        state.context(),
        session=state.services.session,
        keep_chunks=state.keeps_chunks,
    ) as run:
        try:
            async for batch in run.batches():
                if not speaks_live:
                    continue
                if joins_reads and len(batch) > 1:
                    yield state.say("".join(batch))
                else:
                    for piece in batch:
                        yield state.say(piece)
        finally:
            result = run.result
            state.nodes[node.id] = {
                "text": result.text,
                "chunks": result.chunks,  # parsed only if a later template reads it
                "status": result.status,
            }
    if node.speak and not node.stream and result.text:
        yield state.say(result.text)
