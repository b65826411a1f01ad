"""Routes for admins: policy packs as versions (upload, activate, roll back, history), hash banks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from audit.policy_versions import DEFAULT_SURFACE, Activation

from ...container import StageDeps
from ...services import admin
from ...services.shadow import shadow_report
from ..deps import AdminDep, ServicesDep
from ..errors import error_answers
from ..schemas import (
    HashBanks,
    HashBankView,
    PolicyActivated,
    PolicyActivationView,
    PolicyHistory,
    PolicyVersionView,
    PolicyView,
    ShadowReport,
)

router = APIRouter(prefix="/v1", tags=["admin"])
YAML_BODY = {"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}}
TEXT_BODY = {"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}}
SurfaceQuery = Query(DEFAULT_SURFACE, description="the surface (a job field picks it)")


@dataclass(frozen=True)
class PolicySwitch:
    """What every switch of a surface's active or shadow pack shares: the services, the admin
    who makes it (audited) and the surface (`?surface=`, checked by the service)."""

    deps: StageDeps
    admin: str
    surface: str

    def make(self, change: Callable[..., Activation], *args: str) -> PolicyActivationView:
        """Apply one of the `services.admin` switches and answer with the activation row."""
        activation = change(self.deps, *args, admin=self.admin, surface=self.surface)
        return PolicyActivationView(**activation.to_dict())


def policy_switch(who: AdminDep, svc: ServicesDep, surface: str = SurfaceQuery) -> PolicySwitch:
    """The dependency: an admin's key, the services, the surface asked for."""
    return PolicySwitch(svc.deps, who.key_id, surface)


SwitchDep = Annotated[PolicySwitch, Depends(policy_switch)]


@router.get("/policies", summary="The active policy pack", responses=error_answers(400, 401, 403))
def get_policy(_: AdminDep, svc: ServicesDep, surface: str = SurfaceQuery) -> PolicyView:
    """The pack every decision on this surface is made with now, and its version."""
    pack = svc.deps.policies.current(admin.checked_surface(surface))
    return PolicyView(version=pack.version, pack=pack.to_dict())


@router.put(
    "/policies",
    summary="Upload and activate a policy pack",
    openapi_extra=YAML_BODY,
    responses=error_answers(400, 401, 403, 409, 413),
)
async def put_policy(
    request: Request, who: AdminDep, svc: ServicesDep, surface: str = SurfaceQuery
) -> PolicyActivated:
    """Store a YAML pack as a new version and make it active, in one audited transaction."""
    body = await request.body()
    previous = svc.deps.policies.current(admin.checked_surface(surface)).version
    pack = await run_in_threadpool(
        admin.publish_policy, svc.deps, body, admin=who.key_id, surface=surface
    )
    return PolicyActivated(version=pack.version, previous_version=previous)


@router.post(
    "/policies/versions",
    summary="Upload a policy pack as a new version",
    openapi_extra=YAML_BODY,
    responses=error_answers(400, 401, 403, 409, 413),
)
async def upload_policy(request: Request, who: AdminDep, svc: ServicesDep) -> PolicyVersionView:
    """Validate a YAML pack and store it, immutable, under its version; it is not activated."""
    body = await request.body()
    stored = await run_in_threadpool(admin.upload_policy, svc.deps, body, admin=who.key_id)
    return PolicyVersionView(**stored.to_dict())


@router.get(
    "/policies/history",
    summary="Policy versions and activations",
    responses=error_answers(401, 403),
)
def policy_history(_: AdminDep, svc: ServicesDep) -> PolicyHistory:
    """Every uploaded version and every switch of an active or shadow pack, oldest first."""
    return PolicyHistory(**admin.policy_history(svc.deps))


@router.post(
    "/policies/versions/{version}/activate",
    summary="Activate an uploaded policy version",
    responses=error_answers(400, 401, 403, 404, 409),
)
def activate_policy(version: str, switch: SwitchDep) -> PolicyActivationView:
    """Make an uploaded version the surface's active pack; running workers switch at once."""
    return switch.make(admin.activate_policy_version, version)


@router.post(
    "/policies/rollback",
    summary="Roll back to the previous policy version",
    responses=error_answers(400, 401, 403, 409),
)
def rollback_policy(switch: SwitchDep) -> PolicyActivationView:
    """Re-activate the version that was active before the current one."""
    return switch.make(admin.rollback_policy)


@router.put(
    "/policies/shadow/{version}",
    summary="Run a version beside the active pack",
    responses=error_answers(400, 401, 403, 404, 409),
)
def set_shadow(version: str, switch: SwitchDep) -> PolicyActivationView:
    """Decide every job with this version too, recording what it would do, enforcing nothing."""
    return switch.make(admin.shadow_policy_version, version)


@router.delete(
    "/policies/shadow", summary="Stop the shadow pack", responses=error_answers(400, 401, 403)
)
def stop_shadow(switch: SwitchDep) -> PolicyActivationView:
    """Stop running a shadow pack on the surface."""
    return switch.make(admin.withdraw_shadow)


@router.get(
    "/policies/shadow/report",
    summary="What the shadow pack would change",
    responses=error_answers(400, 401, 403),
)
def get_shadow_report(_: AdminDep, svc: ServicesDep, since: datetime | None = None) -> ShadowReport:
    """Agreement rate with the active pack, the actions that would change, the rules behind them."""
    return ShadowReport(**shadow_report(svc.deps, since=since))


@router.get("/hash-banks", summary="Known-bad hash banks", responses=error_answers(401, 403))
def list_hash_banks(_: AdminDep, svc: ServicesDep) -> HashBanks:
    """Every bank the next job is matched against, with its size."""
    matcher = svc.deps.hash_banks.current()
    banks = matcher.banks if matcher else []
    return HashBanks(banks=[HashBankView(name=bank.name, hashes=len(bank)) for bank in banks])


@router.put(
    "/hash-banks/{name}",
    summary="Upload a new version of a hash bank",
    openapi_extra=TEXT_BODY,
    responses=error_answers(400, 401, 403, 413),
)
async def put_hash_bank(
    name: str, request: Request, who: AdminDep, svc: ServicesDep
) -> HashBankView:
    """Store the next version of a bank of known-bad PDQ hashes (`HEX[,label]` lines)."""
    body = await request.body()
    bank = await run_in_threadpool(admin.load_hash_bank, svc.deps, name, body, admin=who.key_id)
    return HashBankView(name=bank.name, hashes=len(bank))
