"""When a turn's rows are written: once its first token is out, or ``OPEN_WITHIN_S`` after
it started when no token comes (a slow model): a crash then still finds the message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sluice.api import turns as turns_module
from sluice.api.state import ServerState
from sluice.api.streaming import collect_run
from sluice.events import Error, Saved
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


async def test_turns_stored_together_fail_alone(tmp_path: Path, upstream: Upstream):
    release = asyncio.Event()
    for _ in range(2):
        upstream.reply([release, delta("Hi"), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream) as app:
        state: ServerState = app.state.sluice
        flow = await state.catalog.flow("relay")
        assert flow is not None
        # The store refuses a chat id over 255 characters (the API never sends one).
        good, bad = [
            await state.turns.start(flow, "hi", chat_id=chat_id) for chat_id in ("ok", "x" * 300)
        ]
        for turn in (good, bad):  # both delivered at once: stored in one write
            state.turns.delivered(turn.run_id)
        release.set()
        events = {turn.chat_id: await collect_run(state, turn.run_id) for turn in (good, bad)}
        stored = await state.db.messages.list_messages("ok")
    assert any(isinstance(e, Saved) for e in events["ok"])
    [error] = [e for e in events[bad.chat_id] if isinstance(e, Error)]
    assert error.code == "store_failed"
    assert [(m.role.value, m.content, m.status) for m in stored] == [
        ("user", "hi", MessageStatus.COMPLETE),
        ("assistant", "Hi", MessageStatus.COMPLETE),
    ]
