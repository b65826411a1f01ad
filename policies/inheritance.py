"""Inheriting a stage explicitly: `stages: {output: {inherit: "2026.11.0"}}`.

A stage written as `{inherit: VERSION}` (and nothing else) takes that stored version's stage as
it is. Inheritance is resolved once, at upload: the stored version holds the copied stage, so
every stored version is whole on its own, its content hash covers what decides, and a later
change to the parent (there is none: versions are immutable) could never reach it.

Because stored versions are always resolved, a chain never forms; the one cycle possible is a
pack naming its own version, which is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from policies.pack import STAGES, VERSION, PolicyError, PolicyPack, failing_at
from policies.yaml_bounds import Locate, YamlBoundsError, load_bounded

INHERIT = "inherit"

# The YAML of a stored version, or None when no version of that name was uploaded.
StoredBody = Callable[[str], str | None]


def resolve_inheritance(
    text: str, stored_body: StoredBody, *, source: str = "<policy>"
) -> tuple[str, PolicyPack]:
    """The pack's text with every inherited stage copied in, and the pack it makes.

    Text without `inherit` comes back unchanged (byte for byte what was uploaded). Errors name
    the line and column of the uploaded text.
    """
    try:
        data, locate = load_bounded(text)
    except YamlBoundsError as error:
        raise PolicyError(f"{source}: {error}") from error
    inherited = _inherited_stages(data, source, locate)
    if not inherited:
        return text, PolicyPack.from_dict(data, source=source, locate=locate)
    fail = failing_at(source, locate)
    own_version = str(data.get("version", ""))
    stages = dict(data["stages"])
    for stage, parent in inherited.items():
        at = ("stages", stage, INHERIT)
        if parent == own_version:
            fail(at, f"stage {stage!r} inherits from {parent!r}, its own version: a cycle")
        body = stored_body(parent)
        if body is None:
            fail(at, f"stage {stage!r} inherits from {parent!r}: no policy version {parent!r} "
                     "was uploaded")  # fmt: skip
        parent_stages = load_bounded(body)[0]["stages"]
        if _is_inherit(parent_stages[stage]):  # stored versions are resolved; never expected
            fail(at, f"stage {stage!r}: version {parent!r} inherits it too: a cycle")
        stages[stage] = parent_stages[stage]
    resolved = {**data, "stages": stages}
    # Validated with the upload's positions: the paths of the stages written out are unchanged.
    pack = PolicyPack.from_dict(resolved, source=source, locate=locate)
    header = "".join(
        f"# stage {stage!r} inherited from version {parent!r} at upload\n"
        for stage, parent in inherited.items()
    )
    return header + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), pack


def _is_inherit(body: Any) -> bool:
    return isinstance(body, dict) and INHERIT in body


def _inherited_stages(data: Any, source: str, locate: Locate) -> dict[str, str]:
    """{stage: parent version} for every stage written as `{inherit: VERSION}`."""
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return {}  # PolicyPack.from_dict says what is wrong
    fail = failing_at(source, locate)
    found = {}
    for stage, body in stages.items():
        if stage not in STAGES or not _is_inherit(body):
            continue  # an unknown stage: PolicyPack.from_dict names it
        if set(body) != {INHERIT}:
            fail(("stages", stage), f"stage {stage!r}: a stage with 'inherit' has nothing else")
        parent = body[INHERIT]
        if not isinstance(parent, str) or not VERSION.fullmatch(parent):
            fail(
                ("stages", stage, INHERIT),
                f"stage {stage!r}: 'inherit' names an uploaded version, e.g. \"2026.11.0\"",
            )
        found[stage] = parent
    return found
