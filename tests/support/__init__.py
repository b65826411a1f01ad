"""Helpers shared by the tests and the benchmarks: fixtures, sample media, tiny models, measures.

Nothing here is collected by pytest (no `test_*` modules) and nothing here ships in the wheel.
`kafka_broker` and `postgres` are pytest plugins, loaded by tests/conftest.py.
"""
