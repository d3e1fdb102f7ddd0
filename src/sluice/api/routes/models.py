"""Chat models (``kind: model``) created through the API, behind an API key.

A stored model is used like one from a file: by prompt and agent nodes that name it and
by the chat API's ``chatModelId``. Its key stays a reference (``env:NAME``/``secret:NAME``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from sluice.api.auth import require_admin
from sluice.api.errors import APIError
from sluice.api.state import ServerState
from sluice.providers.model import ModelConfig

router = APIRouter(
    prefix="/api/v1/admin/models", tags=["admin"], dependencies=[Depends(require_admin)]
)

JSONBody = Annotated[dict[str, Any], Body()]


def _view(model: ModelConfig, *, source: str) -> dict[str, Any]:
    document = model.model_dump(mode="json", exclude_none=True, exclude={"kind"})
    return {
        "id": model.id,
        "provider": model.provider,
        "model": model.model,
        "source": source,
        "document": document,
    }


@router.get("")
async def list_models(request: Request) -> list[dict[str, Any]]:
    catalog = ServerState.of(request).catalog
    await catalog.sync_definitions()
    return [
        _view(model, source=catalog.source_of("model", key))
        for key, model in sorted(catalog.files.models.items())
    ]


@router.get("/{model_id}")
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    catalog = ServerState.of(request).catalog
    await catalog.sync_definitions()
    model = catalog.files.models.get(model_id)
    if model is None:
        raise APIError(404, "model_not_found", f"no model {model_id!r}", field="id")
    return _view(model, source=catalog.source_of("model", model_id))


@router.post("", status_code=201)
async def create_model(request: Request, document: JSONBody) -> dict[str, Any]:
    state = ServerState.of(request)
    model: ModelConfig = state.catalog.parse_definition("model", document)
    if await state.db.definitions.get_definition("model", model.id) is not None:
        raise APIError(409, "exists", f"model {model.id!r} exists", field="id")
    return await _save(state, model, document)


@router.put("/{model_id}")
async def update_model(model_id: str, request: Request, document: JSONBody) -> dict[str, Any]:
    state = ServerState.of(request)
    if document.setdefault("id", model_id) != model_id:
        raise APIError(422, "invalid_request", "the id cannot change", field="id")
    model: ModelConfig = state.catalog.parse_definition("model", document)
    if await state.db.definitions.get_definition("model", model_id) is None:
        raise APIError(404, "model_not_found", f"no stored model {model_id!r}", field="id")
    return await _save(state, model, document)


async def _save(state: ServerState, model: ModelConfig, document: dict[str, Any]) -> dict[str, Any]:
    await state.catalog.save_definition("model", model, document)
    return _view(model, source="stored")


@router.delete("/{model_id}")
async def delete_model(model_id: str, request: Request) -> dict[str, Any]:
    if not await ServerState.of(request).catalog.delete_stored("model", model_id):
        raise APIError(404, "model_not_found", f"no stored model {model_id!r}", field="id")
    return {"id": model_id, "deleted": True}
