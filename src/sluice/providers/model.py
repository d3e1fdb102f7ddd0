"""The ``kind: model`` configuration: a chat model at a provider, its address, the reference
to its API key and its default parameters; and ``model_from_env`` for the default flow.

The key itself never appears in configuration: ``api_key`` is ``env:NAME`` or
``secret:NAME``, resolved when a request is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sluice.errors import ConfigError
from sluice.integrations.model import Timeouts

ProviderName = Literal["openai", "azure_openai", "anthropic", "ollama", "gemini"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://127.0.0.1:11434",
}
"""Where each provider lives unless ``base_url`` says otherwise (Azure has no default)."""

DEFAULT_KEY_NAMES: dict[str, str | None] = {
    "openai": "OPENAI_API_KEY",
    "azure_openai": "AZURE_OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "ollama": None,
}


class ModelConfig(BaseModel):
    """A configured chat model.

    ``base_url`` defaults per provider (Ollama's to ``OLLAMA_HOST``, Azure's to
    ``AZURE_OPENAI_ENDPOINT``). ``api_key`` defaults to ``env:`` the provider's usual
    variable; an OpenAI-compatible server at its own ``base_url`` may do without one.
    ``params`` (temperature, max_tokens…) are merged into every request body, under the
    call's own. Azure reads ``deployment`` (default: ``model``) and ``api_version``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["model"] = "model"
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=200)
    description: str | None = None
    provider: ProviderName
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key: str | None = None
    deployment: str | None = None
    api_version: str = "2024-10-21"
    params: dict[str, Any] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)

    @field_validator("api_key")
    @classmethod
    def _check_reference(cls, value: str | None) -> str | None:
        if value is not None:
            scheme, _, name = value.partition(":")
            if scheme not in ("env", "secret") or not name:
                raise ValueError("expected a reference, env:NAME or secret:NAME (never the key)")
        return value

    def resolve_base_url(self, env: Mapping[str, str] | None = None) -> str:
        """The base URL requests go to, without a trailing slash."""
        env = os.environ if env is None else env
        url = self.base_url
        if url is None and self.provider == "ollama":
            url = _ollama_url(env.get("OLLAMA_HOST", ""))
        if url is None and self.provider == "azure_openai":
            url = env.get("AZURE_OPENAI_ENDPOINT")
        if url is None:
            url = DEFAULT_BASE_URLS.get(self.provider)
        if not url:
            raise ConfigError(
                "base_url is required (or set AZURE_OPENAI_ENDPOINT)",
                source=f"model {self.id}",
                field="base_url",
            )
        return url.rstrip("/")

    def resolve_api_key(self, secrets: Mapping[str, str] | None = None) -> str | None:
        """The API key, or None where the provider needs none; ``ConfigError`` when missing.

        ``env:NAME`` reads the process environment, ``secret:NAME`` the credential store
        (``secrets``, the environment when not given).
        """
        reference = self.api_key
        if reference is None:
            default = DEFAULT_KEY_NAMES[self.provider]
            if default is None:
                return None
            reference = f"env:{default}"
        scheme, _, name = reference.partition(":")
        store = os.environ if scheme == "env" or secrets is None else secrets
        value = store.get(name)
        if value:
            return value
        if self.api_key is None and (self.base_url is not None or self.provider == "ollama"):
            return None  # an OpenAI-compatible server of one's own often takes no key
        raise ConfigError(f"{scheme}.{name} is not set", source=f"model {self.id}", field="api_key")


def _ollama_url(host: str) -> str | None:
    """``OLLAMA_HOST`` as Ollama reads it: ``host`` or ``host:port`` (port 11434 unless
    given, over http), or a URL whose scheme sets the default port."""
    host = host.strip().rstrip("/")
    if not host:
        return None
    if "://" in host:
        return host
    return f"http://{host}" if ":" in host else f"http://{host}:11434"


def model_from_env(env: Mapping[str, str] | None = None) -> ModelConfig | None:
    """The model the default flow uses: the first provider the environment configures.

    OpenAI (``OPENAI_API_KEY`` or ``OPENAI_BASE_URL``), then Anthropic
    (``ANTHROPIC_API_KEY``), then Ollama (``OLLAMA_HOST``); None when none is set.
    ``OPENAI_MODEL``, ``ANTHROPIC_MODEL`` and ``OLLAMA_MODEL`` choose the model.
    """
    env = os.environ if env is None else env
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return ModelConfig(
            id="default",
            provider="openai",
            model=env.get("OPENAI_MODEL") or "gpt-4o-mini",
            base_url=env.get("OPENAI_BASE_URL") or None,
        )
    if env.get("ANTHROPIC_API_KEY"):
        return ModelConfig(
            id="default",
            provider="anthropic",
            model=env.get("ANTHROPIC_MODEL") or "claude-sonnet-4-5",
        )
    if env.get("OLLAMA_HOST"):
        return ModelConfig(
            id="default",
            provider="ollama",
            model=env.get("OLLAMA_MODEL") or "llama3.2",
            base_url=_ollama_url(env["OLLAMA_HOST"]),
        )
    return None
