"""socket.io is loaded by the first socket.io request, not by the server's start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from sluice.api.app import create_app
from sluice.api.settings import Settings

app = create_app(Settings(database_url="sqlite+aiosqlite:///{db}"))
asyncio.run(app.emit("message", {{"id": "m"}}, room="nobody"))  # nobody to tell yet
print("socketio" in sys.modules, "redis" in sys.modules)
"""


def test_a_server_nobody_reaches_by_socketio_never_loads_it(tmp_path: Path):
    script = SCRIPT.format(db=tmp_path / "sluice.db")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"]
