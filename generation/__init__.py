"""Photo to clip: scene analysis, motion, frame synthesis, ambient audio and encoding.

The default backend is procedural and runs on the CPU without weights (`generation.procedural`);
diffusion backends load from a local folder when torch and diffusers are installed
(`generation.diffusion`, imported only on demand).
"""

from .backends import Backend, ProceduralBackend, load_backend
from .clip import SAMPLE_RATE, Clip, VideoFormat
from .encode import (
    DecodedClip,
    Keyframes,
    MediaError,
    Mp4Read,
    decode_keyframes,
    decode_mp4,
    encode_mp4,
    read_mp4,
)
from .options import GenerationOptionError, GenerationOptions
from .procedural import BACKEND_VERSION as GENERATOR_VERSION
from .procedural import generate_clip
from .streaming import generate_mp4

GENERATOR_NAME = "stillguard-procedural"

__all__ = [
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "SAMPLE_RATE",
    "Backend",
    "Clip",
    "DecodedClip",
    "GenerationOptionError",
    "GenerationOptions",
    "Keyframes",
    "MediaError",
    "Mp4Read",
    "ProceduralBackend",
    "VideoFormat",
    "decode_keyframes",
    "decode_mp4",
    "encode_mp4",
    "generate_clip",
    "generate_mp4",
    "load_backend",
    "read_mp4",
]
