"""Replies of the wrong shape raise ``ResponseFormatError``; whole replies read as events."""

from __future__ import annotations

import pytest

from sluice.client import (
    AgentResponse,
    AsyncSluiceClient,
    ChatToken,
    MessageSaved,
    ResponseFormatError,
    SluiceClient,
    StreamEnd,
)
from sluice.client._replies import read_flow, read_json, read_message, read_prediction


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        (read_prediction, [1]),
        (read_flow, {"name": "no id"}),
        (read_flow, {"id": "x", "flowData": "not json"}),
        (read_message, {"id": "m", "role": True}),
        (read_prediction, {"sourceDocuments": "not a list"}),
    ],
)
def test_wrong_shapes_raise_format_error(reader, value):
    with pytest.raises(ResponseFormatError):
        reader(value)


def test_body_that_is_not_json_raises_format_error():
    with pytest.raises(ResponseFormatError):
        read_json(b"<html>")


def test_numeric_ids_read_as_strings():
    assert read_message({"id": 7, "role": "apiMessage", "content": "x"}).id == "7"


def test_chat_stream_answered_whole_yields_events(client: SluiceClient):
    events = list(client.chat("whole"))
    assert [type(e) for e in events] == [ChatToken, AgentResponse, MessageSaved, StreamEnd]


@pytest.mark.anyio
async def test_async_chat_stream_answered_whole_yields_events(aclient: AsyncSluiceClient):
    stream = await aclient.chat("whole")
    assert [type(e) async for e in stream] == [ChatToken, AgentResponse, MessageSaved, StreamEnd]
