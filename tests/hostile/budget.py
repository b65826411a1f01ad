"""The fuzzers' budget: small and fixed in the suite, raised for a release check.

`STILLGUARD_FUZZ_EXAMPLES` sets the examples per schemathesis operation (4 by default); the
verify fuzz runs five times as many mutations. Runs are derandomized, so a failure repeats.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

EXAMPLES = int(os.environ.get("STILLGUARD_FUZZ_EXAMPLES", "4"))


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for a bounded, repeatable run of `examples` examples, no shrinking."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
