"""Routes for admins: the active policy pack and the known-bad hash banks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...services.admin import activate_policy, load_hash_bank, load_hash_matcher
from ..deps import AdminDep, ServicesDep
from ..errors import error_answers
from ..schemas import HashBanks, HashBankView, PolicyActivated, PolicyView

router = APIRouter(prefix="/v1", tags=["admin"])
YAML_BODY = {"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}}
TEXT_BODY = {"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.get("/policies", summary="The active policy pack", responses=error_answers(401, 403))
def get_policy(_: AdminDep, svc: ServicesDep) -> PolicyView:
    """The pack every decision is made with now, and its version."""
    return PolicyView(version=svc.deps.policy.version, pack=svc.deps.policy.to_dict())


@router.put(
    "/policies",
    summary="Activate a policy pack",
    openapi_extra=YAML_BODY,
    responses=error_answers(400, 401, 403, 409, 413),
)
async def put_policy(request: Request, who: AdminDep, svc: ServicesDep) -> PolicyActivated:
    """Validate a YAML pack and make it the active one; audited with the version it replaced."""
    body = await request.body()
    previous = svc.deps.policy.version
    pack = await run_in_threadpool(activate_policy, svc.deps, svc.settings, body, admin=who.key_id)
    return PolicyActivated(version=pack.version, previous_version=previous)


@router.get("/hash-banks", summary="Known-bad hash banks", responses=error_answers(401, 403))
def list_hash_banks(_: AdminDep, svc: ServicesDep) -> HashBanks:
    """Every bank the next job is matched against, with its size."""
    matcher = load_hash_matcher(svc.settings)
    banks = matcher.banks if matcher else []
    return HashBanks(banks=[HashBankView(name=bank.name, hashes=len(bank)) for bank in banks])


@router.put(
    "/hash-banks/{name}",
    summary="Replace a hash bank",
    openapi_extra=TEXT_BODY,
    responses=error_answers(400, 401, 403, 413),
)
async def put_hash_bank(
    name: str, request: Request, who: AdminDep, svc: ServicesDep
) -> HashBankView:
    """Replace a bank of known-bad PDQ hashes (`HEX[,label]` lines); used from the next job on."""
    body = await request.body()
    bank = await run_in_threadpool(
        load_hash_bank, svc.deps, svc.settings, name, body, admin=who.key_id
    )
    return HashBankView(name=bank.name, hashes=len(bank))
