"""API keys: ``Authorization: Bearer <key>``; admin routes always need one, flows unless public."""

from __future__ import annotations

from fastapi import Request

from sluice.api.errors import APIError
from sluice.api.state import ServerState
from sluice.flows.model import Flow
from sluice.store import KeyRecord


async def key_of(state: ServerState, header: str) -> KeyRecord | None:
    """The valid key an ``Authorization`` header carries, or None when there is none;
    a present but wrong key is a 401."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError(401, "unauthorized", "expected 'Authorization: Bearer <api key>'")
    record = await state.db.keys.verify_key(token.strip())
    if record is None or record.is_revoked:
        raise APIError(401, "unauthorized", "the API key is not valid")
    return record


async def caller_key(request: Request) -> KeyRecord | None:
    """The valid key the request carries, or None; a present but wrong key is a 401."""
    return await key_of(ServerState.of(request), request.headers.get("authorization", ""))


async def require_admin(request: Request) -> KeyRecord:
    """Admin routes: a valid key, always."""
    key = await caller_key(request)
    if key is None:
        raise APIError(401, "unauthorized", "this route needs an API key (sluice keys create)")
    return key


async def check_flow_access(state: ServerState, header: str, flow: Flow) -> None:
    """Running or reading a flow: public flows are open unless the server requires keys."""
    if await key_of(state, header) is not None:
        return
    if flow.public and not state.settings.require_api_key:
        return
    raise APIError(401, "unauthorized", f"flow {flow.id!r} is private: send an API key")


async def require_flow_access(request: Request, flow: Flow) -> None:
    await check_flow_access(ServerState.of(request), request.headers.get("authorization", ""), flow)
