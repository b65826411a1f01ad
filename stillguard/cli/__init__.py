"""The CLI room: the entry point, one module per command group, and the output helpers."""

from .main import main

__all__ = ["main"]
