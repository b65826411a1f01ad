"""A typed motion prompt ("clouds drifting left, gentle waves, no zoom") mapped to motion parameters."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .options import GenerationOptions
from .scene import Scene

# subject words -> the plan field they steer
SUBJECTS = {
    "sky": "sky_speed",
    "skies": "sky_speed",
    "cloud": "sky_speed",
    "clouds": "sky_speed",
    "cloudy": "sky_speed",
    "water": "water",
    "waves": "water",
    "wave": "water",
    "sea": "water",
    "ocean": "water",
    "lake": "water",
    "river": "water",
    "surf": "water",
    "ripples": "water",
    "ripple": "water",
    "tree": "foliage",
    "trees": "foliage",
    "leaves": "foliage",
    "grass": "foliage",
    "foliage": "foliage",
    "branches": "foliage",
    "plants": "foliage",
    "camera": "camera",
    "zoom": "camera",
    "push": "camera",
    "dolly": "camera",
    "parallax": "camera",
    "light": "light",
    "lights": "light",
    "sun": "light",
    "sunlight": "light",
    "glow": "light",
}
FASTER = {
    "fast",
    "faster",
    "quick",
    "quickly",
    "rushing",
    "racing",
    "stormy",
    "strong",
    "wild",
    "rough",
    "choppy",
    "crashing",
    "windy",
    "dramatic",
    "rolling",
    "big",
}
SLOWER = {
    "slow",
    "slowly",
    "gentle",
    "gently",
    "calm",
    "soft",
    "softly",
    "subtle",
    "lazy",
    "lazily",
    "slight",
    "tiny",
    "small",
}
STILL = {"no", "without", "still", "static", "frozen", "stop", "none", "locked"}
LEFT = {"left", "leftward", "leftwards", "west", "westward"}
RIGHT = {"right", "rightward", "rightwards", "east", "eastward"}
PARTICLES = {
    "rain": "rain",
    "raining": "rain",
    "rainy": "rain",
    "drizzle": "rain",
    "shower": "rain",
    "snow": "snow",
    "snowing": "snow",
    "snowfall": "snow",
    "snowflakes": "snow",
    "blizzard": "snow",
    "dust": "dust",
    "motes": "dust",
    "pollen": "dust",
    "sparkles": "dust",
    "fireflies": "dust",
}
SOUNDS = {
    "birds": "birdsong",
    "bird": "birdsong",
    "birdsong": "birdsong",
    "chirping": "birdsong",
    "rain": "rain",
    "raining": "rain",
    "rainy": "rain",
    "drizzle": "rain",
    "waves": "sea",
    "sea": "sea",
    "ocean": "sea",
    "surf": "sea",
    "beach": "sea",
    "wind": "wind",
    "windy": "wind",
    "breeze": "wind",
    "crickets": "crickets",
    "night": "crickets",
    "city": "city",
    "traffic": "city",
    "street": "city",
    "stream": "stream",
    "brook": "stream",
    "creek": "stream",
    "river": "stream",
    "waterfall": "stream",
}


@dataclass(frozen=True)
class MotionPlan:
    """Multipliers on the default motion of each region, a sky direction and extra sound layers."""

    sky_speed: float = 1.0
    sky_direction: int = 0  # -1 left, +1 right, 0 chosen from the seed
    clouds: float = 1.0
    water: float = 1.0
    foliage: float = 1.0
    camera: float = 1.0
    light: float = 1.0
    sounds: tuple[str, ...] = ()
    particles: str = ""  # "", "rain", "snow" or "dust"
    understood: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sounds"] = list(self.sounds)
        data["understood"] = list(self.understood)
        return data


def parse_motion_prompt(text: str) -> MotionPlan:
    """Reads clause by clause ("clouds drifting left", "gentle waves", "no zoom"); unknown words are
    ignored, and `understood` lists the clauses that changed something."""
    plan = MotionPlan()
    understood: list[str] = []
    sounds: list[str] = []
    particles = ""
    for clause in re.split(r"[,;.\n]|\band\b|\bwith\b", text.lower()):
        words = re.findall(r"[a-z]+", clause)
        if not words:
            continue
        for word in words:
            sound = SOUNDS.get(word)
            if sound and sound not in sounds:
                sounds.append(sound)
            if word in PARTICLES and not particles and not any(w in STILL for w in words):
                particles = PARTICLES[word]
                understood.append(clause.strip())
        targets = [SUBJECTS[w] for w in words if w in SUBJECTS]
        if not targets:
            continue
        factor = 1.0
        if any(w in STILL for w in words):
            factor = 0.0
        elif any(w in FASTER for w in words):
            factor = 1.8
        elif any(w in SLOWER for w in words):
            factor = 0.55
        changes: dict[str, Any] = {}
        for target in set(targets):
            changes[target] = getattr(plan, target) * factor
            if target == "sky_speed":
                if factor == 0.0:
                    changes["clouds"] = 0.0 if "no" in words or "without" in words else plan.clouds
                if any(w in LEFT for w in words):
                    changes["sky_direction"] = -1
                elif any(w in RIGHT for w in words):
                    changes["sky_direction"] = 1
        if changes:
            plan = replace(plan, **changes)
            understood.append(clause.strip())
    return replace(plan, sounds=tuple(sounds), particles=particles, understood=tuple(understood))


def plan_motion(scene: Scene, options: GenerationOptions) -> MotionPlan:
    """The motion plan for a generation: the typed prompt's wishes on top of the defaults."""
    del scene  # the scene decides where motion goes; the plan only scales it
    return parse_motion_prompt(options.motion_prompt) if options.motion_prompt else MotionPlan()
