"""A small real stand-in for the Sluice server, for the SDK's tests: aiohttp.web on
127.0.0.1, port 0, in a thread of its own so that sync and async clients both reach it.

It speaks the wire formats the SDK reads (Flowise prediction SSE, chat-API SSE, JSON
replies, error bodies) and keeps a tiny run log, so a stream can be cut mid-body and
resumed with ``Last-Event-ID``. The question (or chat message) picks a scenario:
``hello`` (default) streams a whole answer, ``cut`` drops the connection after three
events the first time, ``drop`` also drops every resume, ``slow`` streams one token then
waits for an abort, ``whole`` answers a stream request with JSON, ``boom`` fails with an
error event.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from aiohttp import web

TOKENS = ("Hel", "lo, ", "wörld")
DOCUMENTS = [{"pageContent": "A passage", "metadata": {"source": "a.md"}}]
TOOLS = [{"tool": "search", "toolInput": {"q": "x"}, "toolOutput": "found"}]
USAGE = {"input_tokens": 3, "output_tokens": 5}
CUT_AFTER = 3
PING = b": ping\n\n"

Item = tuple[str, Any]


@dataclass
class Run:
    """One run's numbered events (rendered SSE blocks, event n at index n - 1)."""

    id: str
    wire: str
    events: list[bytes] = field(default_factory=list)
    is_finished: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    cut_after: int | None = None
    drops_resumes: bool = False


def render(wire: str, item: Item, context: dict[str, str]) -> list[bytes]:
    """The SSE lines after ``id`` of the events ``item`` becomes on ``wire``."""
    kind, value = item
    if wire == "prediction":
        name = {"sources": "sourceDocuments", "tools": "usedTools", "usage": "usageMetadata"}
        payload = orjson.dumps({"event": name.get(kind, kind), "data": value})
        return [b"message:\ndata:" + payload + b"\n\n"]
    return [b"data: " + orjson.dumps(p) + b"\n\n" for p in _chat(item, context)]


def _chat(item: Item, context: dict[str, str]) -> list[dict[str, Any]]:
    kind, value = item
    if kind == "start":
        ids = {"messageId": context["messageId"], "chatInstanceId": context["chatId"]}
        return [{"type": "stream_start", "runId": value, **ids}]
    if kind == "token":
        return [{"type": "token", "content": value}]
    if kind == "tools":
        return [
            *({"type": "tool_start", "tool": t["tool"], "input": t["toolInput"]} for t in value),
            *({"type": "tool_end", "tool": t["tool"], "output": t["toolOutput"]} for t in value),
        ]
    if kind == "metadata":
        answer = {"content": "".join(TOKENS), "tools": TOOLS, "sources": DOCUMENTS, "usage": USAGE}
        saved = {"type": "message_saved", "messageId": context["messageId"]}
        return [{"type": "agent_response", **answer}, saved]
    if kind == "error":
        return [{"type": "error", "code": "run_failed", "message": value}]
    if kind == "end":
        return [{"type": "stream_end"}]
    return [{"type": "status", "content": f"{kind} noted"}]


def _has_news(run: Run, position: int) -> bool:
    return len(run.events) > position or run.is_finished


def error_body(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body = {"error": {"code": code, "message": message, "field": field}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class StubServer:
    """Start with ``start()`` (returns when it listens), stop with ``stop()``."""

    def __init__(self) -> None:
        self.url = ""
        self.api_key: str | None = None
        self.runs: dict[str, Run] = {}
        self.flows: dict[str, dict[str, Any]] = {"f1": {"id": "f1", "name": "One"}}
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.aborted = threading.Event()
        self.waiting = threading.Event()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),))
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the stub server did not start within 5 s")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = self._thread = None

    async def _serve(self, ready: threading.Event) -> None:
        self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/api/v1/prediction/{flow}", self._predict)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_get("/api/v1/runs/{run}/events", self._events)
        app.router.add_post("/api/v1/runs/{run}/abort", self._abort)
        app.router.add_get("/api/v1/chatflows", self._list_flows)
        app.router.add_post("/api/v1/chatflows", self._create_flow)
        app.router.add_route("*", "/api/v1/chatflows/{flow}", self._flow)
        app.router.add_get("/api/v1/chatmessage/{flow}", self._messages)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            for run in self.runs.values():
                run.abort.set()
            await runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error_body(401, "unauthorized", "a valid API key is required")
        response: web.StreamResponse = await handler(request)
        return response

    async def _predict(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["flow"] not in self.flows:
            return error_body(404, "flow_not_found", "no flow 'nope'", None)
        body = orjson.loads(await request.read())
        question = body.get("question")
        if not isinstance(question, str) or not question:
            return error_body(422, "invalid_request", "question must not be empty", "question")
        chat_id = body.get("chatId") or f"chat-{next(self._ids)}"
        self.messages.append(
            {
                "id": f"m{len(self.messages)}",
                "role": "userMessage",
                "content": question,
                "chatId": chat_id,
                "status": "complete",
            }
        )
        return await self._answer(request, "prediction", question, chat_id, body["streaming"])

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        chat_id = body.get("chatInstanceId") or f"chat-{next(self._ids)}"
        streaming = request.query.get("stream") == "true"
        return await self._answer(request, "chat", body["message"], chat_id, streaming)

    async def _answer(
        self, request: web.Request, wire: str, scenario: str, chat_id: str, streaming: bool
    ) -> web.StreamResponse:
        run = Run(f"run-{next(self._ids)}", wire)
        self.runs[run.id] = run
        context = {"chatId": chat_id, "messageId": f"msg-{run.id}"}
        if not streaming or scenario == "whole":
            return web.json_response(self._whole(wire, scenario, chat_id, context, run.id))
        if scenario in ("cut", "drop"):
            run.cut_after = CUT_AFTER
            run.drops_resumes = scenario == "drop"
        asyncio.get_running_loop().create_task(self._produce(run, scenario, context))
        return await self._follow(request, run, 0)

    def _whole(
        self, wire: str, question: str, chat_id: str, context: dict[str, str], run_id: str
    ) -> dict[str, Any]:
        text = "".join(TOKENS)
        if wire == "chat":
            return {
                "content": text,
                "messageId": context["messageId"],
                "chatInstanceId": chat_id,
                "runId": run_id,
                "tools": TOOLS,
                "sources": DOCUMENTS,
                "usage": USAGE,
            }
        return {
            "text": text,
            "question": question,
            "chatId": chat_id,
            "chatMessageId": context["messageId"],
            "sessionId": chat_id,
            "sourceDocuments": DOCUMENTS,
            "usedTools": TOOLS,
        }

    async def _produce(self, run: Run, scenario: str, context: dict[str, str]) -> None:
        meta = {
            "chatId": context["chatId"],
            "chatMessageId": context["messageId"],
            "question": scenario,
            "sessionId": context["chatId"],
        }
        await self._emit(run, context, ("start", run.id), ("token", TOKENS[0]))
        if scenario == "slow":
            self.waiting.set()
            await run.abort.wait()
            await self._emit(run, context, ("error", "aborted"), ("end", "[DONE]"))
            return
        if scenario == "boom":
            await self._emit(run, context, ("error", "upstream failed"), ("end", "[DONE]"))
            return
        items: list[Item] = [("token", t) for t in TOKENS[1:]]
        items += [("sources", DOCUMENTS), ("tools", TOOLS), ("usage", USAGE), ("metadata", meta)]
        await self._emit(run, context, *items, ("end", "[DONE]"))

    async def _emit(self, run: Run, context: dict[str, str], *items: Item) -> None:
        async with run.changed:
            for item in items:
                for block in render(run.wire, item, context):
                    run.events.append(b"id: %d\n" % (len(run.events) + 1) + block)
            run.is_finished = items[-1][0] == "end"
            run.changed.notify_all()

    async def _follow(self, request: web.Request, run: Run, after: int) -> web.StreamResponse:
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Run-Id": run.id,
        }
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(PING)
        position = after
        while True:
            async with run.changed:
                await run.changed.wait_for(partial(_has_news, run, position))
                blocks = run.events[position:]
            for block in blocks:
                middle = len(block) // 2
                await response.write(block[:middle])
                await response.write(block[middle:] + PING)
                position += 1
                if position == run.cut_after:
                    run.cut_after = None
                    assert request.transport is not None
                    request.transport.abort()
                    return response
            if run.is_finished and position == len(run.events):
                break
        await response.write_eof()
        return response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        run = self.runs.get(request.match_info["run"])
        if run is None:
            return error_body(404, "run_not_found", "no such run")
        after = request.headers.get("Last-Event-ID") or request.query.get("lastEventId") or "0"
        if run.drops_resumes:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            assert request.transport is not None
            request.transport.abort()
            return response
        return await self._follow(request, run, int(after))

    async def _abort(self, request: web.Request) -> web.Response:
        run = self.runs.get(request.match_info["run"])
        if run is None:
            return error_body(404, "run_not_found", "no such run")
        run.abort.set()
        self.aborted.set()
        return web.json_response({"runId": run.id, "aborted": True})

    async def _list_flows(self, request: web.Request) -> web.Response:
        return web.json_response([self._flow_json(flow) for flow in self.flows.values()])

    async def _create_flow(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        document = orjson.loads(body["flowData"])
        flow = {"id": document.get("id") or f"flow-{next(self._ids)}", **document}
        if "name" in body:
            flow["name"] = body["name"]
        self.flows[flow["id"]] = flow
        return web.json_response(self._flow_json(flow))

    async def _flow(self, request: web.Request) -> web.Response:
        flow_id = request.match_info["flow"]
        if flow_id not in self.flows:
            return error_body(404, "flow_not_found", f"no flow {flow_id!r}")
        if request.method == "DELETE":
            del self.flows[flow_id]
            return web.json_response({"deleted": True})
        if request.method == "PUT":
            body = orjson.loads(await request.read())
            self.flows[flow_id] = {**orjson.loads(body["flowData"]), "id": flow_id}
        return web.json_response(self._flow_json(self.flows[flow_id]))

    @staticmethod
    def _flow_json(flow: dict[str, Any]) -> dict[str, Any]:
        name = flow.get("name")
        return {
            "id": flow["id"],
            "name": name,
            "flowData": orjson.dumps(flow).decode(),
            "isPublic": False,
            "deployed": True,
        }

    async def _messages(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chatId")
        found = [m for m in self.messages if chat_id is None or m["chatId"] == chat_id]
        return web.json_response([{**m, "createdDate": "2025-01-01T00:00:00Z"} for m in found])
