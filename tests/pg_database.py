"""Fixture: a fresh PostgreSQL database per test, dropped afterwards."""
