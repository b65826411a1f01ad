"""Request and response models of every route: the OpenAPI document is the HTTP contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..services.review import REVIEW_ACTIONS


class ErrorDetail(BaseModel):
    """What went wrong: a stable code to switch on and a message for a person."""

    code: str = Field(examples=["invalid_option"])
    message: str
    request_id: str = Field(
        description="this request's id (also the X-Request-ID header), for the server's log",
        examples=["3f2b9c0e8d7a4b6c9e1f0a2b3c4d5e6f"],
    )


class ErrorResponse(BaseModel):
    """Every error answer has this shape."""

    error: ErrorDetail


class Decision(BaseModel):
    """A recorded policy (or reviewer) decision on one stage of a job."""

    model_config = ConfigDict(extra="allow")
    stage: str
    action: str
    reasons: list[str]
    policy_version: str | None = None
    decision_id: str | None = None
    unevaluated: list[str] = Field(
        default_factory=list,
        description="categories the policy could not evaluate here (no model configured); "
        "`stillguard doctor` says how to enable each",
    )


class JobView(BaseModel):
    """A job as its submitter (or a reviewer) sees it."""

    job_id: str
    id: str
    status: str = Field(description="submitted, running, published, refused, held or failed")
    created_at: str | None
    updated_at: str | None
    decisions: list[Decision]
    error: str | None = Field(description="why the job was refused or failed")
    options: dict[str, Any]
    surface: str = Field("default", description="the surface whose policy packs decide the job")
    extends: str | None = Field(None, description="the published job this one continues")


class ExtendRequest(BaseModel):
    """How long the continued clip should run."""

    model_config = ConfigDict(extra="forbid")
    # Checked by the intake service, whose message names the clip's current length.
    duration_s: Any = Field(
        None,
        description="new length in seconds, over the current one and at most 21",
        json_schema_extra={"type": "number"},
    )


class AuditEvent(BaseModel):
    """One link of the hash-chained audit log."""

    seq: int = Field(description="position in the chain; the keyset cursor")
    event_id: str = Field(description="deterministic for stage results, so re-runs add nothing")
    job_id: str | None = Field(description="null for events about the service (policy, banks)")
    stage: str = Field(description="intake, input, generation, output, provenance, policy")
    kind: str = Field(description="job.created, decision, clip.generated, published, ...")
    action: str | None = Field(description="allow, label, restrict, block, review, publish, ...")
    policy_version: str | None = Field(description="the pack a decision was made with")
    decision_id: str | None
    reasons: list[str] = Field(description="the rules that fired, or a reviewer's reason")
    signals: list[dict[str, Any]] = Field(description="classifier scores behind a decision")
    payload: dict[str, Any] = Field(description="stage details: timings, segments, the clip")
    created_at: str | None = Field(description="ISO 8601, UTC, microseconds")
    prev_hash: str = Field(description="SHA-256 of the event before")
    hash: str = Field(description="SHA-256 over this event and prev_hash")


class AuditPage(BaseModel):
    """A page of audit events; pass `next_after` as `after` for the next page."""

    events: list[AuditEvent]
    next_after: int | None


class ReviewItem(BaseModel):
    """A job held for a human, with the decision that held it."""

    job_id: str
    created_at: str | None
    stage: str | None
    reasons: list[str]
    policy_version: str | None
    prompt: str | None
    age_s: float = Field(description="seconds since the job was submitted")
    claimed_by: str | None = Field(description="the reviewer holding a live claim, if any")
    appeal: bool = Field(description="the submitter appealed a refusal; a second reviewer decides")


class AppealRequest(BaseModel):
    """The submitter's one appeal of a refusal: why it was wrong."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class AppealView(BaseModel):
    """An appeal and, once a second reviewer decided it, its outcome."""

    text: str | None
    status: str = Field(description="pending, upheld or overturned")
    first_decider: str | None = Field(
        description="the reviewer who refused first (null: automated)"
    )
    decided_by: str | None
    reasons: list[str]


class StatedDecision(BaseModel):
    """The restriction itself (DSA Art. 17(3)(a))."""

    action: str = Field(description="block (refusal), restrict, or review (pending)")
    stage: str | None
    decision_id: str | None
    description: str


class PolicyGround(BaseModel):
    """The contractual ground (DSA Art. 17(3)(e)): the policy pack version and its rules."""

    kind: str
    policy_version: str | None
    rules: list[str]


class Redress(BaseModel):
    """How to contest the decision (DSA Art. 17(3)(f))."""

    appeal: str
    can_appeal: bool
    other: str


class StatementOfReasons(BaseModel):
    """Why a job was refused or restricted, in the fields of the EU DSA's Article 17."""

    job_id: str
    status: str
    decision: StatedDecision
    facts_and_circumstances: list[str] = Field(description="Art. 17(3)(b): what was found")
    automated_detection: bool = Field(description="Art. 17(3)(c): found by automated means")
    automated_decision: bool = Field(description="Art. 17(3)(c): decided without a human")
    ground: PolicyGround
    redress: Redress
    appeal: AppealView | None


class ReviewClaim(BaseModel):
    """A reviewer's hold on a job: nobody else can decide it until `expires_at`."""

    job_id: str
    reviewer: str
    claimed_at: str
    expires_at: str


class ReviewQueue(BaseModel):
    """Jobs waiting for a reviewer."""

    reviews: list[ReviewItem]


class ReviewDecision(BaseModel):
    """A reviewer's decision: approve resumes the job, block refuses it; the reason is audited."""

    action: str = Field(description=f"one of {', '.join(REVIEW_ACTIONS)}")
    reason: str = Field(min_length=1, max_length=2000)


class ReviewOutcome(BaseModel):
    """Where the job stands after a reviewer's decision."""

    job_id: str
    status: str
    decisions: list[Decision]


class ThresholdView(BaseModel):
    """One output rule's threshold: a score at or over it on `category` fires `action`."""

    rule: str
    category: str
    threshold: float
    action: str


class ReviewTimeline(BaseModel):
    """What the output gate saw in a clip, second by second, and the thresholds it applied."""

    job_id: str
    status: str
    decision_id: str | None
    action: str | None = Field(description="the output gate's own decision (before any review)")
    reasons: list[str]
    policy_version: str | None = Field(description="the pack the output decision was made with")
    thresholds_policy_version: str = Field(description="the pack the thresholds come from")
    thresholds: list[ThresholdView]
    duration_s: float | None
    signals: list[dict[str, Any]] = Field(description="the clip-level signals decided on")
    frame_signals: list[dict[str, Any]] = Field(description="scores of sampled frames")
    segments: list[dict[str, Any]] = Field(description="stretches over a threshold")
    timeline: list[dict[str, Any]] = Field(description="every scored stretch, below thresholds too")


class SignalView(BaseModel):
    """One classifier signal: a category's score, and over which seconds for clips."""

    category: str
    score: float
    model: str
    start_s: float | None
    end_s: float | None
    evaluated: bool
    detail: str | None


class CheckReport(BaseModel):
    """Moderation only: the signals, the clip's time segments and the policy decision."""

    decision: Decision
    signals: list[SignalView]
    segments: list[dict[str, Any]]


class VerifyReport(BaseModel):
    """Provenance of a file, and why: valid, tampered, untrusted, no_manifest, recovered, related,
    or remote_manifest (the manifest is kept at `remote_url`, fetched only from allowed hosts)."""

    model_config = ConfigDict(extra="allow")
    status: str
    ai_generated: bool
    message: str = ""


class Match(BaseModel):
    """A manifest found for a soft binding (C2PA soft-binding resolution API, plus our fields)."""

    manifestId: str | None
    clip_id: int
    job_id: str
    matched_by: str
    detail: str = ""


class Matches(BaseModel):
    """Manifests that a watermark, fingerprint or uploaded copy resolves to."""

    matches: list[Match]


class PolicyView(BaseModel):
    """The active policy pack."""

    version: str
    pack: dict[str, Any]


class PolicyActivated(BaseModel):
    """The pack now active, and the one it replaced."""

    version: str
    previous_version: str


class PolicyVersionView(BaseModel):
    """One uploaded, immutable policy version."""

    version: str
    sha256: str
    uploaded_at: str | None
    uploaded_by: str


class PolicyActivationView(BaseModel):
    """One switch of a surface's active or shadow pack (version null: shadow withdrawn)."""

    id: int
    surface: str
    role: str
    version: str | None
    activated_at: str | None
    activated_by: str


class PolicyHistory(BaseModel):
    """Every uploaded version and every activation, oldest first."""

    versions: list[PolicyVersionView]
    activations: list[PolicyActivationView]


class ShadowChange(BaseModel):
    """How often the shadow pack would turn the active action into another, at one stage."""

    stage: str
    from_: str = Field(alias="from")
    to: str
    count: int

    model_config = ConfigDict(populate_by_name=True)


class ShadowRule(BaseModel):
    """A shadow rule behind changed decisions, and how many."""

    rule: str
    count: int


class ShadowReport(BaseModel):
    """What the shadow pack would have changed on live traffic."""

    shadow_versions: list[str]
    decisions: int
    agreed: int
    agreement_rate: float | None
    changes: list[ShadowChange]
    rules: list[ShadowRule]


class HashBankView(BaseModel):
    """A bank of known-bad PDQ hashes."""

    name: str
    hashes: int


class HashBanks(BaseModel):
    """Every loaded bank."""

    banks: list[HashBankView]


class Health(BaseModel):
    """The process answers."""

    status: str
    version: str


class CategoryView(BaseModel):
    """One moderation category: evaluated here (by which model and version) or not, and why."""

    category: str
    evaluated: bool
    model: str = Field(description="the model and version its signals carry")
    why: str = Field("", description="why it is not evaluated")
    enable: str = Field("", description="the one step that enables it")
    note: str = ""
    required_by: list[str] = Field(
        default_factory=list, description="active rules that require it (jobs go to review)"
    )


class ReadinessDetails(BaseModel):
    """What this installation moderates (as `stillguard doctor` lists it)."""

    categories: list[CategoryView]
    required_not_evaluated: list[str] = Field(
        description="categories an active pack requires that are not evaluated: every job "
        "then goes to review"
    )


class Readiness(BaseModel):
    """Whether the audit store answers and the keys open; `problems` says which does not."""

    ready: bool
    problems: dict[str, str]
    details: ReadinessDetails | None = Field(
        None, description="every moderation category and whether it is evaluated (added 2026-12-08)"
    )


class WebhookRequest(BaseModel):
    """Where to POST the final state of this key's jobs."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048, description="http(s); not a private or loopback address")


class WebhookView(BaseModel):
    """The key's webhook URL, or null."""

    url: str | None


class WebhookRegistered(WebhookView):
    """The registered URL and the secret its deliveries are signed with (HMAC-SHA256 over
    `<Stillguard-Webhook-Id>.<Stillguard-Webhook-Timestamp>.<body>`)."""

    secret: str
