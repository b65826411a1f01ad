"""Quality checks of the procedural backend on real photos (issue "Generation core", Quality checks).

    python -m bench.generation_eval                     # every photo in samples/eval and samples/
    python -m bench.generation_eval --size 1280x720 --photos samples/eval/storm.jpg
    python -m bench.generation_eval --frames /tmp/eval  # also save a contact sheet per photo
    python -m bench.generation_eval --json

Per photo, a clip (5 s at 640x360 and 24 fps unless told) is generated and measured:
- motion goes where it belongs: mean optical-flow magnitude (Farneback, grey consecutive frames)
  inside the detected sky, and inside the water, over that in the regions nothing animates
  (target >= 3x; the still regions move only with the camera push);
- motion of its own: the same ratios once the camera's motion is taken out (a similarity transform
  fitted to the still regions' flow, each frame pair; target >= 2x, the issue's motion figure);
- flicker: frame-to-frame change of the still regions' mean luminance (mean and max, grey levels);
- loop seam: with loop=True, the last-to-first frame step over the median ordinary step;
- audio: integrated loudness against the target (within 1 LU), samples at full scale, and the
  jump at the loop point over the 99.9th percentile of ordinary sample steps (a click above 1);
- determinism: the same photo, options and seed, generated twice and encoded, give the same bytes.
Exit status 1 when any check fails on any photo. With --frames, each photo's contact sheet (first,
middle and last frames, and a heat map of the motion less the camera's) is saved as NAME.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.contact_sheet import contact_sheet
from generation import GenerationOptions, encode_mp4, generate_clip
from generation.audio import TARGET_LUFS
from generation.procedural import analyze_photo
from tests.support.clip_quality import (
    RegionMasks,
    clipped_samples,
    frame_steps,
    loop_click,
    loop_seam,
    loudness_error,
    luminance_steps,
    motion_maps,
    region_masks,
    region_means,
)
from tests.support.samples import SAMPLES

MOTION_RATIO = 3.0  # animated region over still regions
OWN_MOTION_RATIO = 2.0  # the same, the camera's motion taken out of both (issue 16)
FLICKER_BOUND = 1.0  # grey levels of mean-luminance change per frame in the still regions
SEAM_BOUND = 1.5  # loop seam over the median ordinary frame step
LOUDNESS_BOUND = 1.0  # LU from the target
CLICK_BOUND = 1.0  # loop-point jump over the 99.9th percentile of sample steps


def default_photos() -> list[Path]:
    eval_dir = SAMPLES / "eval"
    extras = sorted(p for p in SAMPLES.glob("*") if p.suffix in (".jpg", ".png"))
    return sorted(eval_dir.glob("*.jpg")) + extras


def _digest(clip: Any, folder: Path, name: str) -> str:
    path = folder / f"{name}.mp4"
    encode_mp4(clip, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def evaluate_photo(
    photo: Image.Image, options: GenerationOptions, *, determinism: bool = True
) -> dict[str, Any]:
    """Generates the clips for one photo and returns every measure (None where not applicable)."""
    start = time.perf_counter()
    clip = generate_clip(photo, options)
    _image, scene = analyze_photo(photo, options.width, options.height)
    masks = region_masks(scene, options.width, options.height)
    measured = {
        name: getattr(masks, name)
        for name in ("sky", "water", "foliage", "still")
        if masks.measurable(name)
    }
    maps = motion_maps(clip.frames, masks.still)
    flow = region_means(maps.measured, measured)
    own = region_means(maps.residual, measured)

    flicker = luminance_steps(clip.frames, masks.still) if "still" in measured else None
    looped = generate_clip(photo, dataclasses.replace(options, loop=True))
    result: dict[str, Any] = {
        "regions": clip.scene["regions"],
        "faces": clip.scene["faces"],
        "motions": sorted({f"{m['region']}:{m['kind']}" for m in clip.scene["motions"]}),
        "audio_layers": clip.scene["audio_layers"],
        "flow_px": {name: round(value, 4) for name, value in flow.items()},
        "own_flow_px": {name: round(value, 4) for name, value in own.items()},
        "sky_ratio": _ratio(flow, "sky"),
        "water_ratio": _ratio(flow, "water"),
        "foliage_ratio": _ratio(flow, "foliage"),
        "sky_own_ratio": _ratio(own, "sky"),
        "water_own_ratio": _ratio(own, "water"),
        "flicker_mean": None if flicker is None else float(flicker.mean()),
        "flicker_max": None if flicker is None else float(flicker.max()),
        "seam_ratio": loop_seam(looped.frames)
        / max(float(np.median(frame_steps(looped.frames))), 1e-6),
        "loudness_error_lu": None,
        "clipped": None,
        "click": None,
        "deterministic": None,
    }
    if clip.audio is not None and looped.audio is not None:
        result["loudness_error_lu"] = loudness_error(clip.audio, TARGET_LUFS)
        result["clipped"] = clipped_samples(clip.audio) + clipped_samples(looped.audio)
        result["click"] = loop_click(looped.audio)
    if determinism:
        again = generate_clip(photo, options)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            result["deterministic"] = _digest(clip, folder, "a") == _digest(again, folder, "b")
    result["seconds"] = time.perf_counter() - start
    result["sheet"] = Sheet(clip.frames, options.fps, maps.residual, masks)
    return result


def _ratio(flow: dict[str, float], name: str) -> float | None:
    """A region's motion over the still regions' (None where either was not measured)."""
    if name not in flow or "still" not in flow:
        return None
    return flow[name] / max(flow["still"], 1e-6)


@dataclasses.dataclass(frozen=True)
class Sheet:
    """What a photo's contact sheet is drawn from."""

    frames: np.ndarray
    fps: int
    residual: np.ndarray  # mean motion less the camera's, pixels per frame
    masks: RegionMasks

    def save(self, path: Path, result: dict[str, Any]) -> None:
        """Saves the sheet as PNG, titled with the photo's motion figures."""
        regions = {
            name: getattr(self.masks, name)
            for name in ("sky", "water", "foliage")
            if self.masks.measurable(name)
        }
        own = result["own_flow_px"]
        title = (
            f"{path.stem}: own motion (px/frame) sky {_cell(own.get('sky'), '.3f')}, "
            f"water {_cell(own.get('water'), '.3f')}, still {_cell(own.get('still'), '.3f')}; "
            f"sky/still {_times(result['sky_own_ratio'])}, "
            f"water/still {_times(result['water_own_ratio'])}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(self.frames, self.fps, self.residual, regions, title).save(path)


CHECKS: list[tuple[str, str, Any]] = [
    ("sky motion", f"sky flow >= {MOTION_RATIO:g}x still", lambda r: _at_least(r["sky_ratio"], MOTION_RATIO)),
    ("water motion", f"water flow >= {MOTION_RATIO:g}x still", lambda r: _at_least(r["water_ratio"], MOTION_RATIO)),
    ("sky own", f"sky flow less camera >= {OWN_MOTION_RATIO:g}x still", lambda r: _at_least(r["sky_own_ratio"], OWN_MOTION_RATIO)),
    ("water own", f"water flow less camera >= {OWN_MOTION_RATIO:g}x still", lambda r: _at_least(r["water_own_ratio"], OWN_MOTION_RATIO)),
    ("flicker", f"max luminance step in still regions < {FLICKER_BOUND:g}", lambda r: _below(r["flicker_max"], FLICKER_BOUND)),
    ("loop seam", f"seam <= {SEAM_BOUND:g}x median frame step", lambda r: _below(r["seam_ratio"], SEAM_BOUND, inclusive=True)),
    ("loudness", f"|loudness - {TARGET_LUFS:g} LUFS| <= {LOUDNESS_BOUND:g} LU", lambda r: None if r["loudness_error_lu"] is None else abs(r["loudness_error_lu"]) <= LOUDNESS_BOUND),
    ("clipping", "no sample at full scale", lambda r: None if r["clipped"] is None else r["clipped"] == 0),
    ("loop click", f"loop jump <= {CLICK_BOUND:g}x p99.9 sample step", lambda r: _below(r["click"], CLICK_BOUND, inclusive=True)),
    ("determinism", "same seed, same bytes", lambda r: r["deterministic"]),
]  # fmt: skip


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _below(value: float | None, bound: float, *, inclusive: bool = False) -> bool | None:
    if value is None:
        return None
    return value <= bound if inclusive else value < bound


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}x"


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return format(value, fmt)


def print_report(rows: list[tuple[str, dict[str, Any]]], options: GenerationOptions) -> bool:
    print(
        f"size={options.size} duration={options.duration_s:g}s fps={options.fps} "
        f"seed={options.seed} photos={len(rows)}"
    )
    print(
        f"{'photo':<22} {'sky%':>5} {'wat%':>5} {'fol%':>5} {'face':>4} {'sky px':>6} "
        f"{'still':>6} {'sky x':>6} {'wat x':>6} {'sky own':>7} {'wat own':>7} {'flick':>5} "
        f"{'fl max':>6} {'seam':>5} "
        f"{'dLU':>5} {'clip':>4} {'click':>5} {'same':>4} {'s':>5}"
    )
    for name, r in rows:
        regions, flow = r["regions"], r["flow_px"]
        print(
            f"{name[:22]:<22} {regions['sky'] * 100:>5.1f} {regions['water'] * 100:>5.1f} "
            f"{regions['foliage'] * 100:>5.1f} {r['faces']:>4} {_cell(flow.get('sky'), '.3f'):>6} "
            f"{_cell(flow.get('still'), '.3f'):>6} {_cell(r['sky_ratio'], '.1f'):>6} "
            f"{_cell(r['water_ratio'], '.1f'):>6} {_cell(r['sky_own_ratio'], '.1f'):>7} "
            f"{_cell(r['water_own_ratio'], '.1f'):>7} {_cell(r['flicker_mean'], '.2f'):>5} "
            f"{_cell(r['flicker_max'], '.2f'):>6} {_cell(r['seam_ratio'], '.2f'):>5} "
            f"{_cell(r['loudness_error_lu'], '+.2f'):>5} {_cell(r['clipped'], 'd'):>4} "
            f"{_cell(r['click'], '.2f'):>5} {_cell(r['deterministic'], ''):>4} {r['seconds']:>5.1f}"
        )
    all_pass = True
    for check, rule, verdict in CHECKS:
        outcomes = [(name, verdict(r)) for name, r in rows]
        judged = [(name, ok) for name, ok in outcomes if ok is not None]
        failed = [name for name, ok in judged if not ok]
        status = "PASS" if judged and not failed else ("n/a" if not judged else "FAIL")
        all_pass &= not failed
        tail = f" failed: {', '.join(failed)}" if failed else ""
        print(
            f"{status:<4} {check:<12} {rule}: {len(judged) - len(failed)}/{len(judged)} photos{tail}"
        )
    return all_pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="*", type=Path, help="photo files (default: the set)")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-determinism", action="store_true", help="skip the second run")
    parser.add_argument("--frames", type=Path, help="folder to save each photo's contact sheet to")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    options = GenerationOptions.from_dict(
        {"size": args.size, "duration_s": args.duration, "fps": args.fps, "seed": args.seed}
    )
    rows = []
    for path in args.photos or default_photos():
        photo = Image.open(path).convert("RGB")
        result = evaluate_photo(photo, options, determinism=not args.no_determinism)
        sheet = result.pop("sheet")
        if args.frames:
            sheet.save(args.frames / f"{path.stem}.png", result)
        rows.append((path.stem, result))
    if args.json:
        print(json.dumps({"options": options.to_dict(), "photos": dict(rows)}, indent=1))
        return (
            0 if all(v is not False for _, r in rows for _, _, c in CHECKS for v in [c(r)]) else 1
        )
    return 0 if print_report(rows, options) else 1


if __name__ == "__main__":
    raise SystemExit(main())
