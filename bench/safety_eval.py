"""Safety evaluation (issue: safety layer): flash check, prompt classifier, benign clips, escalation.

    python -m bench.safety_eval [--only flash,prompts,languages,context,benign,escalation,faces]
        [--json]

- flash: generated clips with known flash rates, colours and areas, judged against the WCAG 2.3.1
  rule (more than 3 general or red flashes in a second over the area threshold);
- prompts: safety/data/prompt_eval.yaml plus one obfuscated variant of every unsafe prompt
  (leetspeak, spacing, confusables, zero-width, stretched letters, case, emoji, cycled);
  a prompt is flagged for a category when its score reaches that category's review threshold in
  the default policy pack;
- languages: tests/data/prompt_eval_languages.yaml, 30 prompts in each of 9 languages: per
  language precision, unsafe recall (review counts as caught) and benign false-positive rate;
  the same for the held-out sets tests/data/prompt_eval_languages_holdout.yaml (12 a language)
  and prompt_eval_languages_holdout2.yaml (8 a language, written after the per-language terms)
  and prompt_eval_languages_holdout3.yaml (12 a language: slang, euphemism, indirect wording)
  and prompt_eval_languages_holdout4.yaml (12 a language; reported as counts only, no prompts,
  so that nobody tunes on its items) and prompt_eval_languages_holdout5.yaml (12 a language and
  English, written blind by an author who had not read the classifier; counts only too) and the
  benign-only prompt_eval_languages_everyday.yaml (20 plain everyday scene prompts a language:
  how many are flagged; counts only);
- context: tests/data/prompt_eval_context.yaml, benign prompts built on trigger words ("kill the
  lights"): the share the default policy does not allow;
- benign: clips generated from varied benign photos must all pass the default output policy;
- escalation: a clip whose later frames turn into content scoring higher than the approved photo;
- faces: the face detector on photos with and without faces (bench/face_eval.py): precision,
  recall, time per photo.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image, ImageEnhance, ImageOps

from policies.pack import PolicyPack
from safety.flash import flash_check
from safety.signals import Signal
from tests.support.samples import REPO_ROOT, SAMPLE_PHOTO

EVAL_SET = REPO_ROOT / "safety" / "data" / "prompt_eval.yaml"
LANGUAGE_SET = REPO_ROOT / "tests" / "data" / "prompt_eval_languages.yaml"
# Written after the margins and anchors were set and never tuned on: the honest figure.
LANGUAGE_HOLDOUT_SET = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_holdout.yaml"
# Written after the per-language terms, in other words than theirs (slang, indirect wording).
LANGUAGE_HOLDOUT_SET_2 = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_holdout2.yaml"
# Written before the exemplars in each language (2026-12-07), in slang and indirect wording.
LANGUAGE_HOLDOUT_SET_3 = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_holdout3.yaml"
# Written 2026-12-08 before that session's scoring changes; its report names no prompt (blind).
LANGUAGE_HOLDOUT_SET_4 = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_holdout4.yaml"
# Written 2026-12-07 by another author before reading the classifier or any held-out set (blind).
LANGUAGE_HOLDOUT_SET_5 = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_holdout5.yaml"
# Benign only: 20 plain everyday scene prompts a language, written 2026-12-07 before scoring.
LANGUAGE_EVERYDAY_SET = REPO_ROOT / "tests" / "data" / "prompt_eval_languages_everyday.yaml"
CONTEXT_SET = REPO_ROOT / "tests" / "data" / "prompt_eval_context.yaml"
CAUGHT = ("block", "review")


# ---- flash -------------------------------------------------------------------------------------


def _flash_clip(
    rate: float,
    on: tuple[int, ...],
    off: tuple[int, ...],
    area: float,
    fps: int,
    seconds: float = 3.0,
    size: tuple[int, int] = (180, 320),
) -> np.ndarray:
    """A clip toggling a centred square (`area` of the frame) between two colours at `rate` Hz."""
    h, w = size
    n = int(seconds * fps)
    frames = np.empty((n, h, w, 3), np.uint8)
    frames[:] = off
    side_h, side_w = round(h * area**0.5), round(w * area**0.5)
    top, left = (h - side_h) // 2, (w - side_w) // 2
    for i in range(n):
        if int(i * rate * 2 / fps) % 2:
            frames[i, top : top + side_h, left : left + side_w] = on
    return frames


def flash_eval() -> dict[str, Any]:
    """Precision/recall of the flash check on clips whose WCAG verdict is known by construction."""
    white, black, red, grey = (255, 255, 255), (0, 0, 0), (255, 0, 0), (128, 128, 128)
    kinds = {
        # name: (on, off, is_general_flash, is_red_flash)
        "white/black": (white, black, True, False),
        "red/black": (red, black, True, True),
        "grey/black": (grey, black, True, False),
        "dim (grey 100/110)": ((110, 110, 110), (100, 100, 100), False, False),
        "bright (240/255)": (white, (240, 240, 240), False, False),
    }
    # Areas: 1 % of the frame is under 25 % of a 10-degree field (1/9 of the frame); 6 % is over.
    cases = []
    for name, (on, off, general, is_red) in kinds.items():
        for rate in (1.0, 2.0, 3.0, 4.0, 6.0, 10.0):
            for area in (1.0, 0.06, 0.01):
                fps = 30 if rate == 6.0 else 24
                over = rate > 3 and area > 0.25 / 9
                cases.append((name, rate, area, fps, on, off, general and over, is_red and over))
    rows, start = [], time.perf_counter()
    for name, rate, area, fps, on, off, want_general, want_red in cases:
        signals = {s.category: s for s in flash_check(_flash_clip(rate, on, off, area, fps), fps)}
        got_general = signals["flash.general"].score >= 1.0
        got_red = signals["flash.red"].score >= 1.0
        rows.append((name, rate, area, want_general, got_general, want_red, got_red))
    elapsed = time.perf_counter() - start

    def pr(want_i: int, got_i: int) -> dict[str, Any]:
        tp = sum(1 for r in rows if r[want_i] and r[got_i])
        fp = sum(1 for r in rows if not r[want_i] and r[got_i])
        fn = sum(1 for r in rows if r[want_i] and not r[got_i])
        return {
            "precision": tp / max(tp + fp, 1),
            "recall": tp / max(tp + fn, 1),
            "positives": tp + fn,
            "false_positives": fp,
            "false_negatives": fn,
        }

    errors = [
        f"{r[0]} {r[1]:g} Hz area {r[2]:.0%}: want general={r[3]} red={r[5]}, "
        f"got general={r[4]} red={r[6]}"
        for r in rows
        if r[3] != r[4] or r[5] != r[6]
    ]
    return {
        "clips": len(rows),
        "general": pr(3, 4),
        "red": pr(5, 6),
        "errors": errors,
        "ms_per_clip": round(elapsed * 1000 / len(rows), 1),
    }


# ---- prompts -----------------------------------------------------------------------------------

_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
_CYRILLIC = str.maketrans(
    {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445"}
)


def _obfuscations() -> list[tuple[str, Any]]:
    def longest_word(text: str) -> int:
        words = text.split()
        return max(range(len(words)), key=lambda i: len(words[i]))

    def on_longest(fn: Any) -> Any:
        def apply(text: str) -> str:
            words = text.split()
            i = longest_word(text)
            words[i] = fn(words[i])
            return " ".join(words)

        return apply

    return [
        ("leetspeak", on_longest(lambda w: w.translate(_LEET))),
        ("spaced", on_longest(lambda w: " ".join(w))),
        ("dotted", on_longest(lambda w: ".".join(w))),
        ("confusables", lambda t: t.translate(_CYRILLIC)),
        ("zero-width", on_longest(lambda w: "\u200b".join(w))),
        ("stretched", on_longest(lambda w: w[:-1] + w[-1] * 5 if w[-1].isalpha() else w)),
        ("upper+leet", lambda t: t.upper().translate(str.maketrans("AEIOS", "4310$"))),
        ("fullwidth", lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t)),
    ]


def prompt_eval() -> dict[str, Any]:
    """Per-category precision/recall on plain and obfuscated prompts, and policy outcomes."""
    from safety.prompt_classifier import PromptClassifier

    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    pack = PolicyPack.default()
    review = {
        r.category: r.threshold
        for r in pack.stages["input"].rules
        if r.action == "review" and r.category.startswith("prompt.")
    }
    classifier = PromptClassifier()
    obfuscations = _obfuscations()

    items: list[tuple[str, str | None, str]] = [(p, None, "benign") for p in data["benign"]]
    for k, (category, prompts) in enumerate(data["unsafe"].items()):
        for j, prompt in enumerate(prompts):
            items.append((prompt, category, "plain"))
            name, fn = obfuscations[(j + k) % len(obfuscations)]
            items.append((fn(prompt), category, f"obfuscated:{name}"))

    start = time.perf_counter()
    results = []
    for prompt, category, kind in items:
        signals = classifier.classify(prompt)
        flagged = {s.category for s in signals if s.score >= review.get(s.category, 2.0)}
        action = pack.decide("input", signals, job_id="eval").action
        results.append((prompt, category, kind, flagged, action))
    ms_per_prompt = (time.perf_counter() - start) * 1000 / len(items)

    def per_category(kinds: tuple[str, ...]) -> dict[str, Any]:
        chosen = [r for r in results if r[2] == "benign" or r[2].split(":")[0] in kinds]
        out = {}
        for category in review:
            tp = sum(1 for r in chosen if r[1] == category and category in r[3])
            fn = sum(1 for r in chosen if r[1] == category and category not in r[3])
            fp = sum(1 for r in chosen if r[1] != category and category in r[3])
            fp_benign = sum(1 for r in chosen if r[1] is None and category in r[3])
            # Strict precision counts a flag on another category's unsafe prompt as wrong
            # ("a naked child" flagged sexual as well as minors); against benign it does not.
            out[category] = {
                "precision_strict": round(tp / max(tp + fp, 1), 3),
                "precision_vs_benign": round(tp / max(tp + fp_benign, 1), 3),
                "recall": round(tp / max(tp + fn, 1), 3),
                "false_positives_on_benign": fp_benign,
            }
        return out

    def caught(kind: str) -> float:
        rows = [r for r in results if r[2].split(":")[0] == kind]
        return round(sum(r[4] in ("block", "review") for r in rows) / max(len(rows), 1), 3)

    held = data.get("held_out", {})
    held_benign = [
        (p, pack.decide("input", classifier.classify(p), job_id="h").action)
        for p in held.get("benign", [])
    ]
    held_unsafe = [
        (p, c, pack.decide("input", classifier.classify(p), job_id="h").action)
        for c, ps in held.get("unsafe", {}).items()
        for p in ps
    ]
    benign_flagged = [r[0] for r in results if r[1] is None and r[4] not in ("allow", "label")]
    missed = [
        f"{r[2]}: {r[0]!r} ({r[1]})"
        for r in results
        if r[1] is not None and r[4] not in ("block", "review")
    ]
    plain, obfuscated = caught("plain"), caught("obfuscated")
    return {
        "prompts": len(items),
        "benign": len(data["benign"]),
        "unsafe_plain": sum(1 for r in results if r[2] == "plain"),
        "unsafe_obfuscated": sum(1 for r in results if r[2].startswith("obfuscated")),
        "review_thresholds": review,
        "per_category_plain": per_category(("plain",)),
        "per_category_obfuscated": per_category(("obfuscated",)),
        "policy_blocked_or_reviewed_plain": plain,
        "policy_blocked_or_reviewed_obfuscated": obfuscated,
        "obfuscated_within_5_points": plain - obfuscated <= 0.05,
        "benign_not_allowed": benign_flagged,
        "unsafe_missed": missed,
        "ms_per_prompt": round(ms_per_prompt, 1),
        "note": "thresholds were calibrated on this same set: figures are not held-out",
        "held_out": {
            "benign": len(held_benign),
            "benign_not_allowed": [p for p, a in held_benign if a not in ("allow", "label")],
            "unsafe": len(held_unsafe),
            "unsafe_blocked_or_reviewed": sum(a in ("block", "review") for _, _, a in held_unsafe),
            "unsafe_missed": [
                f"{p!r} ({c})" for p, c, a in held_unsafe if a not in ("block", "review")
            ],
        },
    }


def language_eval(
    path: Path = LANGUAGE_SET, classifier: Any = None, blind: bool = False
) -> dict[str, Any]:
    """Per language: unsafe recall (review counts as caught) and benign false positives;
    `blind` reports counts only (no prompt), for a set nobody may tune on."""
    from safety.prompt_classifier import PromptClassifier

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pack = PolicyPack.default()
    classifier = classifier or PromptClassifier()
    rows: dict[str, Any] = {}
    timings = []
    for language, items in data["languages"].items():
        actions = {"benign": [], "unsafe": []}
        for kind, prompts in (("benign", items["benign"]), ("unsafe", items.get("unsafe", []))):
            for entry in prompts:
                prompt = entry if kind == "benign" else entry[1]
                start = time.perf_counter()
                signals = classifier.classify(prompt)
                timings.append(time.perf_counter() - start)
                actions[kind].append((prompt, pack.decide("input", signals, job_id="l").action))
        caught = sum(a in CAUGHT for _, a in actions["unsafe"])
        false = [p for p, a in actions["benign"] if a in CAUGHT]
        flagged = caught + len(false)
        rows[language] = {
            "benign": len(actions["benign"]),
            "unsafe": len(actions["unsafe"]),
            "precision": round(caught / max(flagged, 1), 3),
            "unsafe_recall": round(caught / max(len(actions["unsafe"]), 1), 3),
            "benign_false_positive_rate": round(len(false) / max(len(actions["benign"]), 1), 3),
            "unsafe_allowed": [p for p, a in actions["unsafe"] if a not in CAUGHT],
            "benign_flagged": false,
        }
        if not actions["unsafe"]:  # a benign-only set: no recall or precision to speak of
            for key in ("unsafe", "precision", "unsafe_recall", "unsafe_allowed"):
                del rows[language][key]
        if blind:
            rows[language].pop("unsafe_allowed", None)
            del rows[language]["benign_flagged"]
    return {
        "per_language": rows,
        "ms_per_prompt_p50": round(float(np.median(timings)) * 1000, 1),
        "source": data["source"],
    }


def languages_eval() -> dict[str, Any]:
    """The calibration language set, the five held-out ones and the everyday benign one, read by
    one classifier."""
    from safety.prompt_classifier import PromptClassifier

    classifier = PromptClassifier()
    report = language_eval(LANGUAGE_SET, classifier)
    report["note"] = "E5 margins and per-language terms were set on this set: not held-out"
    report["held_out"] = language_eval(LANGUAGE_HOLDOUT_SET, classifier)
    report["held_out_2"] = language_eval(LANGUAGE_HOLDOUT_SET_2, classifier)
    report["held_out_3"] = language_eval(LANGUAGE_HOLDOUT_SET_3, classifier)
    report["held_out_4"] = language_eval(LANGUAGE_HOLDOUT_SET_4, classifier, blind=True)
    report["held_out_5"] = language_eval(LANGUAGE_HOLDOUT_SET_5, classifier, blind=True)
    report["everyday"] = language_eval(LANGUAGE_EVERYDAY_SET, classifier, blind=True)
    return report


def context_eval() -> dict[str, Any]:
    """Benign prompts built on trigger words: how many the default policy does not allow."""
    from safety.prompt_classifier import PromptClassifier

    data = yaml.safe_load(CONTEXT_SET.read_text(encoding="utf-8"))
    pack = PolicyPack.default()
    classifier = PromptClassifier()
    flagged = []
    for prompt in data["benign"]:
        decision = pack.decide("input", classifier.classify(prompt), job_id="c")
        if decision.action not in ("allow", "label"):
            flagged.append(f"{prompt!r}: {decision.action} ({decision.rules_fired[0]})")
    return {
        "benign": len(data["benign"]),
        "false_positives": len(flagged),
        "false_positive_rate": round(len(flagged) / len(data["benign"]), 3),
        "flagged": flagged,
    }


# ---- clips -------------------------------------------------------------------------------------


def _benign_photos(count: int) -> list[tuple[str, Image.Image]]:
    from tests.support.synthetic_photos import landscape_photo

    base = Image.open(SAMPLE_PHOTO).convert("RGB")
    photos = [
        ("sample", base),
        ("sample-mirrored", ImageOps.mirror(base)),
        ("sample-grey", ImageOps.grayscale(base).convert("RGB")),
        ("sample-warm", ImageEnhance.Color(base).enhance(1.8)),
        ("sample-dark", ImageEnhance.Brightness(base).enhance(0.45)),
        ("sample-crop", base.crop((100, 50, 540, 380))),
        ("sample-portrait", base.crop((200, 0, 440, 427))),
    ]
    seed = 0
    while len(photos) < count:
        photos.append(
            (
                f"landscape-{seed}",
                landscape_photo(
                    640,
                    360,
                    horizon=0.35 + 0.05 * (seed % 5),
                    water=seed % 2 == 0,
                    foliage=seed % 3 != 0,
                    clouds=seed % 4 != 3,
                    seed=seed,
                ),
            )
        )
        seed += 1
    return photos[:count]


def benign_eval(count: int, size: tuple[int, int]) -> dict[str, Any]:
    """Every clip generated from a benign photo must pass both gates of the default pack."""
    from generation import GenerationOptions, generate_clip
    from safety.image_classifier import ImageClassifier
    from safety.video_checks import check_clip

    images = ImageClassifier(threads=2)
    pack = PolicyPack.default()
    rows = []
    gate_ms = []
    for i, (name, photo) in enumerate(_benign_photos(count)):
        approved = images.score_photo(photo)
        input_action = pack.decide("input", approved, job_id=name).action
        options = GenerationOptions(
            width=size[0], height=size[1], seed=i, motion=("low", "medium", "high")[i % 3]
        )
        clip = generate_clip(photo, options)
        start = time.perf_counter()
        report = check_clip(
            clip.frames,
            clip.fps,
            classifier=images,
            input_signals=approved,
            input_photo=photo,
            audio=clip.audio,
            sample_rate=clip.sample_rate,
        )
        decision = pack.decide("output", report.signals, job_id=name)
        gate_ms.append((time.perf_counter() - start) * 1000)
        top = {s.category: round(s.score, 3) for s in report.signals if s.evaluated}
        rows.append(
            {
                "photo": name,
                "input": input_action,
                "output": decision.action,
                "reasons": list(decision.reasons) if decision.action != "label" else [],
                "scores": top,
            }
        )
    passed = sum(1 for r in rows if r["input"] == "label" and r["output"] == "label")
    return {
        "clips": len(rows),
        "allowed": passed,
        "size": f"{size[0]}x{size[1]}",
        "output_gate_ms_p50": round(float(np.median(gate_ms)), 1),
        "not_allowed": [r for r in rows if r["output"] != "label" or r["input"] != "label"],
        "max_scores": {
            k: max(r["scores"].get(k, 0) for r in rows)
            for k in (
                "nsfw",
                "escalation.nsfw",
                "drift",
                "flash.general",
                "audio.loudness",
                "audio.spike",
            )
        },
    }


def escalation_eval() -> dict[str, Any]:
    """Later frames replaced by content the model scores higher than the approved photo."""
    from safety.image_classifier import ImageClassifier
    from safety.video_checks import check_clip

    images = ImageClassifier(threads=2)
    photo = Image.open(SAMPLE_PHOTO).convert("RGB")
    approved = images.score_photo(photo)
    frames = np.repeat(np.asarray(photo.resize((320, 180)))[None], 120, axis=0)
    frames[72:] = (180, 135, 115)  # a flat skin tone: Open NSFW ~0.46; from 3.0 s on
    report = check_clip(frames, 24.0, classifier=images, input_signals=approved)
    (signal,) = [s for s in report.signals if s.category == "escalation.nsfw"]
    decision = PolicyPack.default().decide("output", report.signals, job_id="escalation")
    return {
        "approved_photo_nsfw": round(approved[0].score, 4),
        "escalation": Signal.to_dict(signal),
        "expected_range_s": [2.75, 5.0],
        "range_ok": signal.start_s == 2.75 and signal.end_s == 5.0,
        "decision": decision.action,
        "reasons": list(decision.reasons),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="flash,prompts,languages,context,benign,escalation,faces")
    parser.add_argument("--benign-clips", type=int, default=20)
    parser.add_argument("--size", default="640x360", help="benign clip size (WxH)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    width, height = (int(v) for v in args.size.split("x"))
    report: dict[str, Any] = {}
    if "flash" in wanted:
        report["flash"] = flash_eval()
    if "prompts" in wanted:
        report["prompts"] = prompt_eval()
    if "languages" in wanted:
        report["languages"] = languages_eval()
    if "context" in wanted:
        report["context"] = context_eval()
    if "benign" in wanted:
        report["benign_clips"] = benign_eval(args.benign_clips, (width, height))
    if "escalation" in wanted:
        report["escalation"] = escalation_eval()
    if "faces" in wanted:
        from bench.face_eval import face_eval, people_eval

        report["faces"] = face_eval()
        report["people"] = people_eval()
    print(json.dumps(report, indent=None if args.json else 2, default=str))


if __name__ == "__main__":
    main()
