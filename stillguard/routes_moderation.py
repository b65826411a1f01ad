"""Routes for moderation on its own (`/v1/check`) and for the active policy pack."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from policies.pack import PolicyError, PolicyPack

from .api_deps import ApiError, Caller, Services, require, services
from .moderation import check_content
from .wiring import BadRequest, load_hash_matcher, save_active_policy, save_hash_bank

router = APIRouter(prefix="/v1", tags=["moderation"])
MAX_POLICY_BYTES = 256 * 1024


@router.post("/check")
async def check(
    _: Annotated[Caller, Depends(require("submitter"))],
    svc: Annotated[Services, Depends(services)],
    file: Annotated[UploadFile | None, File()] = None,
    prompt: Annotated[str | None, Form()] = None,
    stage: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    content = await file.read() if file is not None else None
    try:
        return await run_in_threadpool(
            check_content, svc.deps, content=content, prompt=prompt, stage=stage
        )
    except BadRequest as exc:
        raise ApiError(exc.http_status, exc.code, str(exc)) from exc


@router.get("/policies")
def get_policy(
    _: Annotated[Caller, Depends(require("admin"))], svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    return {"version": svc.deps.policy.version, "pack": svc.deps.policy.to_dict()}


@router.put("/policies")
async def put_policy(
    request: Request,
    who: Annotated[Caller, Depends(require("admin"))],
    svc: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    if svc.settings.policy_path:
        raise ApiError(
            409,
            "policy_pinned",
            "STILLGUARD_POLICY_PATH pins the policy pack; change that file instead",
        )
    body = await request.body()
    if len(body) > MAX_POLICY_BYTES:
        raise ApiError(
            413, "payload_too_large", f"a policy pack is at most {MAX_POLICY_BYTES} bytes"
        )
    try:
        pack = PolicyPack.from_yaml(body.decode("utf-8"), source="uploaded policy")
    except (PolicyError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_policy", str(exc)) from exc
    previous = svc.deps.policy.version
    await run_in_threadpool(save_active_policy, svc.settings, body)
    svc.deps.policy = pack
    svc.store.append(
        job_id=None,
        stage="policy",
        kind="policy.activated",
        action="activate",
        policy_version=pack.version,
        reasons=[f"admin {who.key_id} replaced {previous}"],
        payload={"previous_version": previous, "admin": who.key_id},
    )
    return {"version": pack.version, "previous_version": previous}


MAX_BANK_BYTES = 80 * 1024 * 1024  # ~1M hashes with labels


@router.get("/hash-banks")
def list_hash_banks(
    _: Annotated[Caller, Depends(require("admin"))], svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    matcher = load_hash_matcher(svc.settings)
    banks = matcher.banks if matcher else []
    return {"banks": [{"name": bank.name, "hashes": len(bank)} for bank in banks]}


@router.put("/hash-banks/{name}")
async def put_hash_bank(
    name: str,
    request: Request,
    who: Annotated[Caller, Depends(require("admin"))],
    svc: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    """Replace a bank of known-bad PDQ hashes (`HEX[,label]` lines); used from the next job on."""
    body = await request.body()
    if len(body) > MAX_BANK_BYTES:
        raise ApiError(413, "payload_too_large", f"a hash bank is at most {MAX_BANK_BYTES} bytes")
    try:
        bank = await run_in_threadpool(save_hash_bank, svc.settings, name, body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_hash_bank", "a hash bank is UTF-8 text") from exc
    except BadRequest as exc:
        raise ApiError(exc.http_status, exc.code, str(exc)) from exc
    svc.deps.forget("hashes")
    svc.store.append(
        job_id=None, stage="policy", kind="hash_bank.loaded", action="load",
        reasons=[f"admin {who.key_id} loaded bank {bank.name} ({len(bank)} hashes)"],
        payload={"bank": bank.name, "hashes": len(bank), "admin": who.key_id},
    )  # fmt: skip
    return {"name": bank.name, "hashes": len(bank)}
