"""When a turn's rows are written: once its first token is out, or ``OPEN_WITHIN_S`` after
it started when no token comes (a slow model): a crash then still finds the message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sluice.api import turns as turns_module
from sluice.api.state import ServerState
from sluice.store import MessageStatus
from tests.api.test_eventstream import Recorder, post
from tests.api.test_slow_consumer import delta, running
from tests.integrations.upstream import Upstream

pytestmark = pytest.mark.anyio


async def test_a_turn_slow_to_answer_is_stored_before_its_first_token(
    tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(turns_module, "OPEN_WITHIN_S", 0.05)
    first_token = asyncio.Event()
    upstream.reply([first_token, delta("Late"), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream) as app:
        state: ServerState = app.state.sluice
        stored: list[dict[str, Any]] = []
        user_stored = asyncio.Event()

        async def notify(chat_id: str, message: dict[str, Any]) -> None:
            stored.append(message)
            user_stored.set()

        state.turns.notify = notify
        request = asyncio.create_task(post(app, Recorder()))
        async with asyncio.timeout(5):
            await user_stored.wait()  # written by the timer: no token has come
        assert not first_token.is_set()
        [user] = stored
        messages = await state.db.messages.list_messages(user["chatId"])
        assert [(m.role.value, m.status) for m in messages] == [
            ("user", MessageStatus.COMPLETE),
            ("assistant", MessageStatus.STREAMING),
        ]
        first_token.set()
        await request
        messages = await state.db.messages.list_messages(user["chatId"])
        assert (messages[-1].content, messages[-1].status) == ("Late", MessageStatus.COMPLETE)
