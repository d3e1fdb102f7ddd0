"""Integration files: YAML (one or more documents) or JSON, read into validated models.

Every problem is raised as a ``ConfigError`` (``ExpressionError`` for a bad JMESPath
expression) naming the file, and the document when a file holds several, the field and
what was wrong: ``flows/chat.yaml (document 2): stream.type: Input should be 'sse', …``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import orjson
import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sluice.errors import ConfigError, ExpressionError
from sluice.integrations.model import Integration
from sluice.streams.types import JSONValue

M = TypeVar("M", bound=BaseModel)

SUFFIXES = frozenset({".yaml", ".yml", ".json"})
"""The file names a configuration folder is scanned for."""


@dataclass(frozen=True, slots=True)
class Document:
    """One configuration object and where it came from (``source`` names file and document)."""

    source: str
    data: dict[str, JSONValue]

    @property
    def kind(self) -> str:
        """The document's ``kind`` (``integration``, ``flow``…); ``ConfigError`` if missing."""
        kind = self.data.get("kind")
        if not isinstance(kind, str):
            raise ConfigError(
                f"expected a string such as 'integration', got {kind!r}",
                source=self.source,
                field="kind",
            )
        return kind


def read_documents(path: Path) -> list[Document]:
    """Parse one YAML or JSON file into its documents (a JSON file may hold a list)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", source=source) from exc
    values = _parse_json(text, source) if path.suffix == ".json" else _parse_yaml(text, source)
    values = [value for value in values if value is not None]
    documents = []
    for number, value in enumerate(values, start=1):
        where = source if len(values) == 1 else f"{source} (document {number})"
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {type(value).__name__}", source=where)
        documents.append(Document(where, value))
    return documents


def _parse_yaml(text: str, source: str) -> list[JSONValue]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise ConfigError(f"invalid YAML{where}: {problem}", source=source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from exc


def _parse_json(text: str, source: str) -> list[JSONValue]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from exc
    return value if isinstance(value, list) else [value]


def parse_integration(data: Mapping[str, JSONValue], *, source: str | None = None) -> Integration:
    """Validate one integration object; every error names ``source``, the field and the problem."""
    return parse_document(Integration, data, source=source)


def parse_document(
    model: type[M],
    data: Mapping[str, JSONValue],
    *,
    source: str | None = None,
    name_field: Callable[[tuple[int | str, ...]], str] | None = None,
) -> M:
    """Validate one configuration object as ``model``; errors name source, field, problem.

    ``name_field`` turns a pydantic location into the field name to report (flows use it
    to name a node by its id rather than its index).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc.errors(), source, name_field or _field) from exc
    except ExpressionError as exc:
        raise ExpressionError(
            exc.message,
            expression=exc.expression,
            position=exc.position,
            source=source,
            field=exc.field,
        ) from exc
    except ConfigError as exc:
        raise ConfigError(exc.message, source=source, field=exc.field) from exc


def _validation_error(
    errors: list[ErrorDetails],
    source: str | None,
    name_field: Callable[[tuple[int | str, ...]], str],
) -> ConfigError:
    first, *rest = errors
    message = _describe(first)
    if rest:
        others = "; ".join(f"{name_field(e['loc'])}: {_describe(e)}" for e in rest)
        message = f"{message} (and {len(rest)} more: {others})"
    return ConfigError(message, source=source, field=name_field(first["loc"]) or None)


def field_name(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a dotted field name: ``stream.type``, ``nodes[2].text``."""
    return _field(loc)


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _describe(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "this field is required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    got = repr(error["input"])
    return f"{error['msg']}, got {got if len(got) <= 60 else got[:60] + '…'}"


def load_integrations(paths: Iterable[Path]) -> dict[str, Integration]:
    """Every ``kind: integration`` document in ``paths`` (files, or folders scanned for
    ``*.yaml``, ``*.yml``, ``*.json``), by id; other kinds are skipped, duplicate ids refused.
    """
    found: dict[str, Integration] = {}
    sources: dict[str, str] = {}
    for file in config_files(paths):
        for document in read_documents(file):
            if document.kind != "integration":
                continue
            integration = parse_integration(document.data, source=document.source)
            if integration.id in found:
                raise ConfigError(
                    f"duplicate id {integration.id!r}, first defined in {sources[integration.id]}",
                    source=document.source,
                    field="id",
                )
            found[integration.id] = integration
            sources[integration.id] = document.source
    return found


def config_files(paths: Iterable[Path]) -> list[Path]:
    """The configuration files in ``paths`` (files as given, folders scanned, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files
