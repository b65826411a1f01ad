"""The reviewer console in the browser, served at /console by `stillguard serve`."""

from .routes import router

__all__ = ["router"]
