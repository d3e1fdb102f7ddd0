"""The commands' rich consoles, made on first use: ``sluice serve`` never loads rich
(~1.5 MB of a server's memory at rest, for output it does not write)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    """Standard output, markup on, no highlighting."""
    from rich.console import Console

    return Console(highlight=False)


@cache
def err() -> Console:
    """Standard error, markup on, no highlighting."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)
