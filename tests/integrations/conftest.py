"""Integration tests share the suite-wide ``upstream`` and ``session`` fixtures; here, a
port that never accepts (a connection to it hangs until its timeout)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A port whose accept queue is full, so that a new connection hangs in SYN."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for filler in fillers:
            filler.close()
        server.close()
