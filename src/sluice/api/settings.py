"""Server settings: command-line options over ``SLUICE_*`` environment variables over defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sluice.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sluice.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``sluice serve`` can be told; each has a ``SLUICE_<NAME>`` variable."""

    host: str = "127.0.0.1"
    port: int = 8000
    flows: Path | None = None
    database_url: str = DEFAULT_DATABASE_URL
    run_log_url: str | None = None
    """``redis://…`` to share runs between replicas; in memory when unset."""
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    keepalive_s: float = 15.0
    """A comment line is written this often on an event stream, from before the first token."""
    hold_start_s: float = 0.0
    """How long a new stream's first write (headers, its start event) may wait for the
    first token to go with it: one write instead of two for an upstream that answers within
    it. 0 sends them at once, while the upstream works: the client has read the headers by
    the time the first token comes, which then reached it 10 to 80 µs sooner in the relay
    benchmark's S1 (docs/performance.md)."""
    run_retention_s: float = 600.0
    """How long a finished run's events stay readable for resuming clients."""
    coalesce_tokens: bool = True
    """A client that reads slower than tokens arrive gets each backlog of tokens as one."""
    max_batch: int = 512
    """The most events a streaming client is sent in one write (what it may hold back)."""
    require_api_key: bool = False
    """When true, even public flows need a key; admin routes always do."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SLUICE_*`` variables, then ``overrides`` that are not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name == "extra":
                continue
            raw = env.get(f"SLUICE_{item.name.upper()}")
            if raw is not None and raw != "":
                values[item.name] = _parse(item.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _parse(name: str, raw: str) -> Any:
    kind = type(getattr(Settings(), name))
    try:
        if name == "flows":
            return Path(raw)
        if name == "cors_origins":
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind in (int, float):
            return kind(raw)
    except ValueError as exc:
        raise ConfigError(
            f"expected a number, got {raw!r}", field=f"SLUICE_{name.upper()}"
        ) from exc
    return raw
