"""The reviewer console in a real browser (Debian's Chromium driven by Playwright): sign in, play
the held clip, read and click its timeline, decide; stale decisions, CSRF and expired sessions are
refused; HTML in prompts and reasons is shown as text."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.console import chromium, console_service, sign_in

HOSTILE_PROMPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
HOSTILE_APPEAL = 'It is a rocket <iframe src="/console/audit"></iframe> not <em>art</em>'
HOSTILE_REASON = "<b>bold?</b><script>window.__pwned = 3</script> looks fine"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory):
    with console_service(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def held(console) -> dict[str, str]:
    """Two held jobs, submitted together: one to publish, one with a hostile prompt."""
    service, _ = console
    jobs = {"plain": service.submit(), "hostile": service.submit(prompt=HOSTILE_PROMPT)}
    for job_id in jobs.values():
        assert service.wait(job_id, {"held", "published", "refused", "failed"})["status"] == "held"
    return jobs


def _page(browser: Browser, shots: Path) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on(
        "pageerror", lambda error: shots.joinpath("page-errors.txt").open("a").write(f"{error}\n")
    )
    return page


def test_a_reviewer_plays_reads_seeks_and_decides_a_held_job(console, browser, held, tmp_path):
    service, base = console
    job_id = held["plain"]
    page = _page(browser, tmp_path)
    sign_in(page, base, service.secrets["reviewer"])
    row = page.locator(f"tr[data-job='{job_id}']")
    expect(row).to_be_visible()
    row.locator("a").click()
    page.wait_for_url(f"{base}/console/jobs/{job_id}")

    # The clip plays: the player knows its length and its time advances.
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return v.duration > 1.5 && v.currentTime > 0.3; }"
    )
    duration = page.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(2.0, abs=0.2)

    # The timeline is drawn from the JSON, with stretches over the threshold and the rule fired.
    expect(page.locator("#timeline[data-state=drawn]")).to_be_visible()
    assert page.locator("#timeline path.series").count() >= 1
    assert page.locator("#timeline line.threshold").count() >= 1
    assert page.locator("#timeline rect.over").count() >= 1
    expect(page.locator("#rules tr.fired")).to_contain_text("output.nsfw.review")
    expect(page.locator("#history")).to_contain_text("held")
    page.screenshot(path=tmp_path / "job-page.png", full_page=True)

    # Clicking the plot seeks the player to that moment.
    page.evaluate("document.getElementById('player').pause()")
    plot = page.locator("#timeline svg")
    box = plot.bounding_box()
    assert box is not None
    plot.click(position={"x": box["width"] * 0.8, "y": box["height"] * 0.5})
    seeked = float(plot.get_attribute("data-seeked-to") or "nan")
    assert 1.2 < seeked < 2.0
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {seeked}) < 0.05"
    )

    # Claiming holds the job for this reviewer; deciding with a reason resumes it: published.
    page.click("#claim-button")
    expect(page.locator("#claim")).to_contain_text("(you)")
    page.check("input[name=action][value=approve]")
    page.fill("#reason", "benign landscape; the nsfw threshold is a test setting")
    page.click("#decide-button")
    page.wait_for_url(f"{base}/console/jobs/{job_id}")
    assert service.wait(job_id, {"published", "refused", "failed"})["status"] == "published"
    page.reload()
    expect(page.locator("#job-status")).to_have_text("published")
    expect(page.locator("#decisions")).to_contain_text("the nsfw threshold is a test setting")
    page.screenshot(path=tmp_path / "job-decided.png", full_page=True)
    assert not (tmp_path / "page-errors.txt").exists()

    # The audit explorer finds the decision and exports it.
    page.goto(f"{base}/console/audit?job={job_id}&kind=decision")
    expect(page.locator("#audit")).to_contain_text("label")
    export = page.request.get(base + (page.locator("#export-csv").get_attribute("href") or ""))
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    assert job_id in export.text() and "reviewer" in export.text()


def test_a_post_without_the_csrf_token_is_refused_and_audited(console, browser, held, tmp_path):
    service, base = console
    job_id = held["hostile"]
    page = _page(browser, tmp_path)
    sign_in(page, base, service.secrets["reviewer"], f"/console/jobs/{job_id}")
    page.evaluate("document.querySelector('#decide input[name=csrf]').remove()")
    page.check("input[name=action][value=block]")
    page.fill("#reason", "forged")
    page.click("#decide-button")
    expect(page.locator("#error")).to_have_attribute("data-code", "csrf_failed")
    page.screenshot(path=tmp_path / "csrf-refused.png")
    forged = page.request.post(
        f"{base}/console/jobs/{job_id}/decision", form={"action": "approve", "reason": "x"}
    )
    assert forged.status == 403
    assert service.wait(job_id, {"held"})["status"] == "held"
    events = service.client.get(
        "/v1/audit", params={"job": job_id, "stage": "review"}, headers=service.headers["admin"]
    ).json()["events"]
    assert sum(e["kind"] == "console.refused" for e in events) == 2


def test_html_is_text_and_a_stale_second_decision_is_refused(console, browser, held, tmp_path):
    service, base = console
    job_id = held["hostile"]
    first, second = _page(browser, tmp_path), _page(browser, tmp_path)
    _, other_secret = service.key("reviewer")
    sign_in(first, base, service.secrets["reviewer"], f"/console/jobs/{job_id}")
    sign_in(second, base, other_secret, f"/console/jobs/{job_id}")

    # The hostile prompt is shown as the text it is; none of it ran.
    expect(first.locator("#prompt")).to_have_text(HOSTILE_PROMPT)
    assert first.evaluate("window.__pwned") is None
    assert first.locator("script").count() == 1  # only the console's own timeline.js

    first.check("input[name=action][value=block]")
    first.fill("#reason", HOSTILE_REASON)
    first.click("#decide-button")
    first.wait_for_url(f"{base}/console/jobs/{job_id}")
    expect(first.locator("#job-status")).to_have_text("refused")
    expect(first.locator("#decisions")).to_contain_text(HOSTILE_REASON)
    assert first.locator("#decisions b").count() == 0
    assert first.evaluate("window.__pwned") is None

    # The second reviewer's page is stale: the decision is refused, naming who decided.
    second.check("input[name=action][value=approve]")
    second.fill("#reason", "looks fine to me")
    second.click("#decide-button")
    expect(second.locator("#error")).to_have_attribute("data-code", "not_held")
    decided = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers["admin"]).json()
    reviewer_id = decided["decisions"][-1]["reviewer"]
    expect(second.locator("#error-message")).to_contain_text(reviewer_id)
    second.screenshot(path=tmp_path / "stale-refused.png")
    assert service.wait(job_id, {"refused"})["status"] == "refused"


def test_an_appeal_is_marked_and_settled_by_a_reviewer_other_than_the_first(
    console, browser, held, tmp_path
):
    service, base = console
    job_id = held["hostile"]
    assert service.wait(job_id, {"refused"})["status"] == "refused"
    appealed = service.client.post(
        f"/v1/jobs/{job_id}/appeal",
        json={"text": HOSTILE_APPEAL},
        headers=service.headers["submitter"],
    )
    assert appealed.status_code < 300, appealed.text

    # The reviewer who blocked it sees the appeal marked, as text, and cannot settle it.
    first = _page(browser, tmp_path)
    sign_in(first, base, service.secrets["reviewer"])
    row = first.locator(f"tr[data-job='{job_id}']")
    expect(row.locator(".badge.appeal")).to_be_visible()
    row.locator("a").click()
    expect(first.locator("#appeal-text")).to_have_text(HOSTILE_APPEAL)
    assert first.locator("iframe").count() == 0
    expect(first.locator("#own-decision")).to_be_visible()
    first.check("input[name=action][value=approve]")
    first.fill("#reason", "I was wrong")
    first.click("#decide-button")
    expect(first.locator("#error")).to_have_attribute("data-code", "second_reviewer_required")

    # Another reviewer upholds it; the submitter's statement of reasons shows the outcome.
    _, other_secret = service.key("reviewer")
    second = _page(browser, tmp_path)
    sign_in(second, base, other_secret, f"/console/jobs/{job_id}")
    second.check("input[name=action][value=block]")
    second.fill("#reason", "upheld: the prompt tried to inject markup")
    second.click("#decide-button")
    second.wait_for_url(f"{base}/console/jobs/{job_id}")
    expect(second.locator("#job-status")).to_have_text("refused")
    second.screenshot(path=tmp_path / "appeal-upheld.png", full_page=True)
    statement = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    ).json()
    assert statement["appeal"]["status"] == "upheld"
    assert statement["redress"]["can_appeal"] is False


def test_an_expired_session_is_sent_back_to_sign_in(browser, tmp_path) -> None:
    with console_service(tmp_path / "home", STILLGUARD_CONSOLE_SESSION_S="1") as (service, base):
        page = _page(browser, tmp_path)
        sign_in(page, base, service.secrets["reviewer"])
        expect(page.locator("h1")).to_contain_text("Held for review")
        cookie = next(c for c in page.context.cookies() if c["name"] == "sg_console")
        time.sleep(2.2)
        page.goto(f"{base}/console/audit")
        expect(page).to_have_url(f"{base}/console/sign-in?next=%2Fconsole%2Faudit&note=required")
        # A client that keeps the lapsed cookie anyway is refused by the server's own clock.
        page.context.add_cookies([{**cookie, "expires": time.time() + 3600}])
        page.goto(f"{base}/console/audit")
        expect(page.locator("#sign-in-note")).to_contain_text("expired")
        answer = page.request.post(f"{base}/console/sign-out", max_redirects=0)
        assert answer.status == 303 and "note=expired" in answer.headers["location"]
        page.screenshot(path=tmp_path / "expired.png")
