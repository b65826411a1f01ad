"""Stillguard's composition root: settings, the stages wired together, the CLI and the HTTP API."""

__version__ = "0.1.0"
