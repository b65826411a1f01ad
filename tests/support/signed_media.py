"""Real media and a signing authority for the provenance tests: tiny H.264 + AAC clips (PyAV).

The session fixtures here are shared by binding them as module attributes in a test module
(`authority = signed_media.authority`), so every provenance test signs with the same authority.
"""

from __future__ import annotations

import io
import pathlib

import av
import c2pa
import numpy as np
import pytest
from PIL import Image

from audit.store import AuditStore
from provenance.authority import Authority
from provenance.fingerprint import clip_fingerprint
from provenance.repository import ManifestRepository
from provenance.sign import GenerationClaims, sign_clip, soft_bindings
from provenance.watermark import embed_watermark

from .photo_clips import DETERMINISTIC_X264, encode
from .photo_clips import FPS as PHOTO_CLIP_FPS

WIDTH, HEIGHT, FPS = 160, 96, 8

CLAIMS = GenerationClaims(
    job_id="job-0001",
    decision_id="dec-7f3a",
    policy_version="policy-2026.1",
    generator="stillguard-procedural",
    generator_version="0.1.0",
    backend="cpu",
    parameters={
        "duration": 1.0,
        "fps": FPS,
        "size": [WIDTH, HEIGHT],
        "motion": "low",
        "style": "natural",
        "seed": 7,
    },
)


def gradient_frames(count: int = FPS, seed: int = 0) -> np.ndarray:
    """(count, HEIGHT, WIDTH, 3) frames: a moving gradient with a little noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = np.empty((count, HEIGHT, WIDTH, 3), np.uint8)
    for i in range(count):
        base = (xs * 255 // WIDTH + i * 9) % 256
        frames[i, ..., 0] = base
        frames[i, ..., 1] = ys * 255 // HEIGHT
        frames[i, ..., 2] = rng.integers(0, 64, (HEIGHT, WIDTH))
    return frames


def encode_clip(frames: np.ndarray, *, audio: bool = True) -> bytes:
    """Encode frames as an MP4 (H.264, plus a 1 s AAC noise track)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        video.options = {"preset": "ultrafast", **DETERMINISTIC_X264}
        sound = container.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            samples = (np.random.default_rng(1).standard_normal((1, 16000)) * 0.05).astype(
                np.float32
            )
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = 16000
            for packet in sound.encode(chunk):
                container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return buffer.getvalue()


def reencode(data: bytes) -> bytes:
    """Decode a clip and encode its frames again (what a re-upload to another service does)."""
    with av.open(io.BytesIO(data)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return encode_clip(frames, audio=False)


def jpeg_bytes(
    color: tuple[int, int, int] = (180, 120, 60), size: tuple[int, int] = (64, 48)
) -> bytes:
    """A small one-colour JPEG: the photo a clip is made from, or its thumbnail."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


def sign_photo(authority: Authority, photo: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    """`photo` signed as a camera would, with its own time-stamped C2PA manifest."""
    source = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    definition = {
        "claim_generator_info": [{"name": "camera", "version": "1"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source}]},
            }
        ],
    }
    with c2pa.Builder(definition) as builder, authority.signer().c2pa_signer() as signer:
        out = io.BytesIO()
        builder.sign(signer, "image/jpeg", io.BytesIO(photo.read_bytes()), out)
    dst.write_bytes(out.getvalue())
    return dst


@pytest.fixture(scope="session")
def provenance_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One folder for the session's authority and media."""
    return tmp_path_factory.mktemp("provenance")


@pytest.fixture(scope="session")
def authority(provenance_dir: pathlib.Path) -> Authority:
    """A signing authority created once per session (its keys are slow to make)."""
    return Authority.open(provenance_dir / "home", "correct horse battery staple")


@pytest.fixture(scope="session")
def clip_path(provenance_dir: pathlib.Path) -> pathlib.Path:
    """An unsigned one-second gradient clip with sound."""
    path = provenance_dir / "clip.mp4"
    path.write_bytes(encode_clip(gradient_frames()))
    return path


@pytest.fixture(scope="session")
def photo_path(provenance_dir: pathlib.Path) -> pathlib.Path:
    """The photo the clip was made from, as a JPEG file."""
    path = provenance_dir / "photo.jpg"
    path.write_bytes(jpeg_bytes())
    return path


@pytest.fixture(scope="session")
def signed_clip(
    authority: Authority,
    clip_path: pathlib.Path,
    photo_path: pathlib.Path,
    provenance_dir: pathlib.Path,
) -> pathlib.Path:
    """The clip signed with CLAIMS, the photo as ingredient and a thumbnail."""
    dst = provenance_dir / "signed.mp4"
    sign_clip(
        authority,
        clip_path,
        dst,
        photo=photo_path,
        claims=CLAIMS,
        thumbnail_jpeg=jpeg_bytes((20, 40, 200), (80, 48)),
    )
    return dst


@pytest.fixture
def repository(audit_store: AuditStore) -> ManifestRepository:
    """The manifest repository on the audit store's engine (SQLite, then PostgreSQL), as wired."""
    return ManifestRepository(audit_store.engine)


def publish_clip(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    folder: pathlib.Path,
    job_id: str,
    frames: np.ndarray,
    *,
    crf: int = 18,
) -> tuple[int, pathlib.Path, list[str]]:
    """What the pipeline does: allocate, watermark (`frames`, in place), encode once,
    fingerprint, sign, register. Returns the clip id, the signed file and its fingerprint."""
    clip_id = repository.allocate_clip_id(job_id)
    embed_watermark(frames, clip_id)
    fingerprint = clip_fingerprint(frames, PHOTO_CLIP_FPS)
    encoded, signed = folder / f"{job_id}.mp4", folder / f"{job_id}-signed.mp4"
    encoded.write_bytes(encode(frames, crf=crf))
    sign_clip(
        authority,
        encoded,
        signed,
        photo=photo_path,
        claims=CLAIMS,
        soft_binding=soft_bindings(clip_id, fingerprint),
    )
    repository.register(clip_id=clip_id, job_id=job_id, fingerprint=fingerprint, signed_clip=signed)
    return clip_id, signed, fingerprint
