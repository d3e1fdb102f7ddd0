"""The ``kind: model`` configuration: key references, base URLs and the default model."""

from __future__ import annotations

import pydantic
import pytest

from sluice.errors import ConfigError
from sluice.providers.model import ModelConfig, model_from_env


def test_api_key_must_be_a_reference_not_a_key():
    with pytest.raises(pydantic.ValidationError, match="env:NAME or secret:NAME"):
        ModelConfig(id="m", provider="openai", model="gpt", api_key="sk-live-abc")


def test_default_key_reads_the_providers_variable(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k1")
    assert ModelConfig(id="m", provider="anthropic", model="c").resolve_api_key() == "k1"


def test_secret_reference_reads_the_credential_store():
    model = ModelConfig(id="m", provider="gemini", model="g", api_key="secret:G")
    assert model.resolve_api_key({"G": "k2"}) == "k2"


def test_missing_key_for_a_hosted_provider_names_the_field(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"env\.OPENAI_API_KEY is not set") as caught:
        ModelConfig(id="m", provider="openai", model="gpt").resolve_api_key()
    assert caught.value.field == "api_key"


def test_compatible_server_of_ones_own_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = ModelConfig(id="m", provider="openai", model="x", base_url="http://127.0.0.1:8000/v1")
    assert model.resolve_api_key() is None


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:11434"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080"),
        ("https://ollama.example/", "https://ollama.example"),
        ("http://gpu:11434", "http://gpu:11434"),
    ],
)
def test_ollama_base_url_comes_from_ollama_host(host, url):
    model = ModelConfig(id="m", provider="ollama", model="llama3.2")
    assert model.resolve_base_url({"OLLAMA_HOST": host}) == url


def test_base_urls_default_per_provider():
    assert ModelConfig(id="m", provider="openai", model="x").resolve_base_url({}) == (
        "https://api.openai.com/v1"
    )
    assert ModelConfig(id="m", provider="ollama", model="x").resolve_base_url({}) == (
        "http://127.0.0.1:11434"
    )
    with pytest.raises(ConfigError, match="base_url is required"):
        ModelConfig(id="m", provider="azure_openai", model="x").resolve_base_url({})


def test_model_from_env_prefers_openai_then_anthropic_then_ollama():
    both = {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o", "OLLAMA_HOST": "h"}
    assert (model := model_from_env(both)) is not None
    assert model.provider == "openai"
    model = model_from_env({"ANTHROPIC_API_KEY": "a", "OLLAMA_HOST": "h"})
    assert model is not None
    assert model.provider == "anthropic"
    model = model_from_env({"OLLAMA_HOST": "gpu:11434", "OLLAMA_MODEL": "qwen3"})
    assert model is not None
    assert (model.provider, model.model, model.base_url) == ("ollama", "qwen3", "http://gpu:11434")
    assert model_from_env({}) is None


def test_openai_base_url_alone_configures_a_compatible_server():
    model = model_from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"})
    assert model is not None
    assert model.base_url == "http://127.0.0.1:8080/v1"
