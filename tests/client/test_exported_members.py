"""The SDK's public surface is exactly the names below: changing it changes this test."""

from __future__ import annotations

import types

import sluice.client

PUBLIC = """
AgentResponse AsyncEventStream AsyncSluiceClient AuthenticationError ChatError ChatEvent
ChatMessage ChatReply ChatToken End EventStream Flow MessageSaved Metadata NotFoundError
Prediction PredictionEvent RateLimitError ResponseFormatError ServerError SluiceAPIError
SluiceClient SluiceClientError SluiceConnectionError SourceDocument SourceDocuments Start
Status StreamEnd StreamError StreamInterruptedError StreamStart Token ToolEnd ToolStart
UsageMetadata UsedTool UsedTools ValidationError
""".split()


def test_all_is_the_public_surface():
    assert sluice.client.__all__ == PUBLIC


def test_module_exposes_nothing_else():
    exported = {name for name in dir(sluice.client) if not name.startswith("_")}
    assert exported == set(PUBLIC)


def test_every_member_is_defined_in_the_sdk():
    for name in PUBLIC:
        member = getattr(sluice.client, name)
        if isinstance(member, types.UnionType):
            assert all(arg.__module__.startswith("sluice.client.") for arg in member.__args__)
        else:
            assert member.__module__.startswith("sluice.client."), name
