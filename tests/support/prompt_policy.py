"""One prompt classifier and the default policy pack for the whole run: building the classifier
loads two encoders and embeds its exemplar banks, which the prompt tests need only once."""

from __future__ import annotations

import pytest

from policies.pack import PolicyPack
from safety.prompt_classifier import PromptClassifier


@pytest.fixture(scope="session")
def prompt_classifier() -> PromptClassifier:
    return PromptClassifier()


@pytest.fixture(scope="session")
def default_pack() -> PolicyPack:
    return PolicyPack.default()
