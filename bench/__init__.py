"""Benchmarks that print the figures the issues ask for; run each from the repository root as
`python -m bench.NAME` (shared helpers come from `tests.support`)."""
