"""socket.io, loaded on the first socket.io request.

python-socketio brings its client, ``requests``, ``redis`` and OpenTelemetry with it: about
13 MB a server carries from start to stop when nobody uses socket.io. ``SocketIO`` serves
``/socket.io/`` (created when the first such request arrives) and passes everything else
to ``app``; until a socket.io client has connected there is nobody to tell, so ``emit``
and ``enter_room`` do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    import socketio

PATH = "/socket.io/"


class SocketIO:
    """The ASGI app in front of ``app``: ``/socket.io/`` to socket.io, the rest to ``app``."""

    def __init__(self, app: ASGIApp, *, cors_origins: list[str]) -> None:
        self.app = app
        self.cors_origins = cors_origins
        self.server: socketio.AsyncServer | None = None
        self._asgi: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _is_socketio(scope["path"]):
            await self._socketio()(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def emit(self, event: str, data: dict[str, Any], *, room: str) -> None:
        if self.server is not None:
            await self.server.emit(event, data, room=room)

    async def enter_room(self, sid: str, room: str) -> None:
        if self.server is not None:
            await self.server.enter_room(sid, room)

    def _socketio(self) -> ASGIApp:
        if self._asgi is None:
            import socketio

            server = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=self.cors_origins)

            async def join(sid: str, data: Any) -> None:
                chat_id = data.get("chatId") if isinstance(data, dict) else data
                if isinstance(chat_id, str) and chat_id:
                    await server.enter_room(sid, chat_id)

            server.on("join", join)
            self.server = server
            self._asgi = socketio.ASGIApp(server, other_asgi_app=self.app)
        return self._asgi


def _is_socketio(path: str) -> bool:
    return path.startswith(PATH) or path == PATH[:-1]
