"""The HTTP room: the app factory, dependencies, schemas, middleware and one router per resource."""

from .app import create_app

__all__ = ["create_app"]
