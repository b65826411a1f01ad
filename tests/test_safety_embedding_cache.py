"""The exemplars' embeddings kept on disk: a later process reads them instead of embedding again,
and a damaged or foreign file is embedded again, never trusted."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from safety.embedding_cache import cache_dir, cached_embeddings

TEXTS = ["a knife to the throat", "clouds over the sea"]


class CountingEncoder:
    """A stand-in encoder that says how often it ran (the real ones take seconds)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.array([[len(t), t.count(" "), 1.0] for t in texts], np.float32)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STILLGUARD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_second_start_reads_what_the_first_embedded(folder: Path) -> None:
    encoder = CountingEncoder()
    first = cached_embeddings("enc@1", TEXTS, encoder)
    again = cached_embeddings("enc@1", TEXTS, encoder)
    assert encoder.calls == 1 and np.array_equal(first, again)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()] == [0o600]


def test_other_texts_or_another_encoder_are_embedded_anew(folder: Path) -> None:
    encoder = CountingEncoder()
    cached_embeddings("enc@1", TEXTS, encoder)
    cached_embeddings("enc@2", TEXTS, encoder)  # a new model version
    cached_embeddings("enc@1", [*TEXTS, "a third"], encoder)
    assert encoder.calls == 3 and len(list(folder.iterdir())) == 3


@pytest.mark.parametrize(
    "damage",
    [
        b"not an array at all",
        b"",
        # an array of the wrong shape, as another version might have left
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }"
        + b" " * 45
        + b"\n"
        + np.zeros(3, np.float32).tobytes(),
    ],
    ids=["garbage", "empty", "wrong shape"],
)
def test_a_damaged_file_is_embedded_again_and_replaced(folder: Path, damage: bytes) -> None:
    encoder = CountingEncoder()
    expected = cached_embeddings("enc@1", TEXTS, encoder)
    (stored,) = folder.iterdir()
    stored.write_bytes(damage)
    assert np.array_equal(cached_embeddings("enc@1", TEXTS, encoder), expected)
    assert encoder.calls == 2
    assert np.array_equal(np.load(stored, allow_pickle=False), expected)


def test_a_folder_that_cannot_be_written_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    monkeypatch.setenv("STILLGUARD_CACHE_DIR", str(blocked / "cache"))
    encoder = CountingEncoder()
    first = cached_embeddings("enc@1", TEXTS, encoder)
    assert np.array_equal(cached_embeddings("enc@1", TEXTS, encoder), first)
    assert encoder.calls == 2


def test_the_folder_follows_xdg_when_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STILLGUARD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert cache_dir() == Path("/somewhere/cache/stillguard")
