"""A live Stillguard server on a loopback port and Debian's Chromium driven by Playwright: for the
reviewer console's browser tests (the browser is never downloaded)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from stillguard.api import create_app
from stillguard.container import open_store
from stillguard.settings import Settings

from .journey import settings_for
from .review import ROLES, ReviewService

CHROMIUM = Path("/usr/bin/chromium")
# The flags a closed network needs (see shared/design/DEPENDENCIES.md): no sandbox in containers,
# no GPU, and nothing that phones home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
# Every output is held for a reviewer because the clip's nsfw peak passes a very low threshold:
# the timeline then shows stretches over a threshold for a benign photo, fast and deterministic.
CONSOLE_PACK = """
version: "test-console-1"
stages:
  input:
    default_action: label
    rules:
      - {id: input.nsfw.block, category: nsfw, threshold: 0.8, action: block}
      - {id: input.prompt.sexual.block, category: prompt.sexual, threshold: 0.8, action: block}
  output:
    default_action: label
    rules:
      - {id: output.nsfw.review, category: nsfw, threshold: 0.0005, action: review}
"""


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve `settings`' app on a free loopback port in a thread; its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def console_service(home: Path, **overrides: str) -> Iterator[tuple[ReviewService, str]]:
    """A live server whose outputs are all held for review, keys per role, and its base URL."""
    (home / "policies").mkdir(parents=True, exist_ok=True)
    (home / "policies" / "active.yaml").write_text(CONSOLE_PACK)
    settings = settings_for(home, **overrides)
    with open_store(settings) as store:
        secrets = {role: store.create_api_key(role)[1] for role in ROLES}
    headers = {role: {"Authorization": f"Bearer {s}"} for role, s in secrets.items()}
    with live_server(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield ReviewService(client, settings, headers, secrets), base_url  # type: ignore[arg-type]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched by Playwright with the closed-network flags."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base_url: str, secret: str, path: str = "/console") -> None:
    """Sign in on the console's form with an API key and land on `path`."""
    page.goto(f"{base_url}/console/sign-in?next={path}")
    page.fill("#api_key", secret)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")
