"""Choosing a generator backend, and the options of variations (several clips from one photo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PIL import Image

from .clip import Clip
from .options import SEED_RANGE, GenerationOptionError, GenerationOptions
from .procedural import BACKEND, BACKEND_VERSION, generate_clip

MAX_VARIATIONS = 8


class Backend(Protocol):
    """What the generator stage needs from a backend."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def generate(
        self,
        photo: Image.Image,
        options: GenerationOptions,
        *,
        timings: dict[str, float] | None = None,
        faces: Sequence[Sequence[float]] | None = None,
    ) -> Clip:
        """A clip of the photo. `faces`: the input gate's face boxes, fractions of the photo
        (x, y, w, h), so the backend need not detect them again; None: it looks itself."""
        ...


class ProceduralBackend:
    """The default: CPU, no weights."""

    name = BACKEND
    version = BACKEND_VERSION

    def generate(
        self,
        photo: Image.Image,
        options: GenerationOptions,
        *,
        timings: dict[str, float] | None = None,
        faces: Sequence[Sequence[float]] | None = None,
    ) -> Clip:
        return generate_clip(photo, options, timings=timings, photo_faces=faces)


def load_backend(diffusers_model: str | Path | None = None) -> Backend:
    """The procedural backend, or the diffusers pipeline saved in `diffusers_model` (the value of
    STILLGUARD_DIFFUSERS_MODEL, read by the caller). Raises DiffusionUnavailable when that folder
    cannot be used; torch and diffusers are imported only in that case."""
    if not diffusers_model:
        return ProceduralBackend()
    from .diffusion import DiffusionBackend

    return DiffusionBackend(diffusers_model)


def variation_options(options: GenerationOptions, count: int) -> list[GenerationOptions]:
    """Options for `count` variations: the same request with seeds seed, seed+1, ... (so each
    variation is reproducible on its own)."""
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_VARIATIONS:
        raise GenerationOptionError(
            "variations", f"must be a whole number from 1 to {MAX_VARIATIONS}, got {count!r}"
        )
    if options.seed + count - 1 > SEED_RANGE[1]:
        raise GenerationOptionError(
            "seed", f"seed + variations - 1 must stay under {SEED_RANGE[1] + 1}"
        )
    return [replace(options, seed=options.seed + k) for k in range(count)]
