"""Generation figures: time per stage to generate and encode a 5 s clip, and the ratio to its length.

    python -m bench.generation  # 720p and 1080x1920, sample photo, 3 runs each
    python -m bench.generation --repeat 5 --preset ultrafast --mode streamed --json

Stages: fit (decode-side resize/crop), analysis (scene), motion (maps, sky layer, clouds),
synthesis (all frames), audio (beside motion and synthesis, on the other core), encode (H.264 +
AAC to a temporary file). Two modes:
- sequential: generate_clip, then encode_mp4 (what the service pipeline does: it marks the frames
  in between); every stage is its own wall time.
- streamed: generate_mp4, each frame encoded as soon as it is rendered; synthesis includes the
  encoding done beside it and encode is only what was left after the last frame.
Wall and CPU seconds are both printed: on a shared machine CPU seconds show the work, wall seconds
what a user waits (load is the 1-minute load average when the runs ended).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from generation import GenerationOptions, encode_mp4, generate_clip, generate_mp4
from tests.support.samples import SAMPLE_PHOTO
from tests.support.synthetic_photos import landscape_photo

STAGES = ("fit", "analysis", "motion", "synthesis", "audio", "encode")


def run_once(
    photo: Image.Image, options: GenerationOptions, preset: str, folder: Path, mode: str
) -> dict[str, float]:
    timings: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "streamed":
        generate_mp4(photo, options, folder / "bench.mp4", preset=preset, timings=timings)
    else:
        clip = generate_clip(photo, options, timings=timings)
        start = time.perf_counter()
        encode_mp4(clip, folder / "bench.mp4", preset=preset)
        timings["encode"] = time.perf_counter() - start
    timings["total"] = time.perf_counter() - wall
    timings["total_cpu"] = time.process_time() - cpu
    timings["generate"] = timings["total"] - timings["encode"]
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--photo", default="sample", help='"sample", "landscape" (synthetic) or a path'
    )
    parser.add_argument("--sizes", default="1280x720,1080x1920")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument(
        "--preset", default="veryfast,ultrafast", help="x264 presets, comma-separated"
    )
    parser.add_argument(
        "--mode", default="sequential,streamed", help="sequential and/or streamed, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    if args.photo == "sample":
        photo = Image.open(SAMPLE_PHOTO).convert("RGB")
    elif args.photo == "landscape":
        photo = landscape_photo(1920, 1080, water=True, foliage=True)
    else:
        photo = Image.open(args.photo).convert("RGB")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            for preset, mode in itertools.product(args.preset.split(","), args.mode.split(",")):
                options = GenerationOptions.from_dict(
                    {"size": size, "duration_s": args.duration, "fps": args.fps}
                )
                run_once(photo, options, preset, Path(tmp), mode)  # warm-up (imports, caches)
                runs = [
                    run_once(photo, options, preset, Path(tmp), mode) for _ in range(args.repeat)
                ]
                median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                results.append(
                    {
                        "size": size,
                        "preset": preset,
                        "mode": mode,
                        "frames": options.frame_count,
                        "duration_s": args.duration,
                        "cores": cores,
                        "runs": args.repeat,
                        "median_s": {k: round(v, 3) for k, v in median.items()},
                        "ratio_to_duration": round(median["total"] / args.duration, 3),
                    }
                )
    if args.json:
        print(json.dumps({"photo": args.photo, "results": results}))
        return 0
    print(
        f"photo={args.photo} cores={cores} load={os.getloadavg()[0]:.2f} runs={args.repeat} (median)"
    )
    header = f"{'size':>10} {'preset':>9} {'mode':>10} " + " ".join(f"{s:>9}" for s in STAGES)
    print(header + f" {'generate':>9} {'total':>7} {'cpu':>6} {'x dur':>6}")
    for r in results:
        m = r["median_s"]
        print(
            f"{r['size']:>10} {r['preset']:>9} {r['mode']:>10} "
            + " ".join(f"{m[s]:>9.3f}" for s in STAGES)
            + f" {m['generate']:>9.3f} {m['total']:>7.3f} {m['total_cpu']:>6.2f} {r['ratio_to_duration']:>6.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
