"""``sluice serve`` loads the CLI and the app, not what only other commands print with."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
import sluice.cli
from sluice.api.app import create_app
from sluice.api.settings import Settings

create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
print("rich" in sys.modules)
"""


def test_the_server_command_never_loads_rich():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False"]
