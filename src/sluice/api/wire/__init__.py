"""Wire formats: pure functions that render a batch of run events as the bytes one client reads.

A batch (the events a follower got in one read) renders to one bytes object, written once.
"""

from sluice.api.wire.chat import ChatContext, render_chat_json, render_chat_sse
from sluice.api.wire.flowise import FlowiseContext, render_flowise_json, render_flowise_sse
from sluice.api.wire.sse import KEEP_ALIVE

__all__ = [
    "KEEP_ALIVE",
    "ChatContext",
    "FlowiseContext",
    "render_chat_json",
    "render_chat_sse",
    "render_flowise_json",
    "render_flowise_sse",
]
