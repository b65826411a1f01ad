"""The hostile-input corpus (issue 15): every case gets its expected 4xx or exit code, never a
5xx or a crash, and no answer leaks a path, SQL or a stack trace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.cli import main
from stillguard.container import open_store
from tests.hostile.cases import CLI_CASES, CLI_FILES, HTTP_CASES, SIGN_IN_TOKEN, Cli, Http, Media
from tests.hostile.media import hostile_media
from tests.support.journey import settings_for

# What an answer must never show a caller: internals belong in the server's log.
LEAKS = re.compile(
    r"Traceback|File \"|site-packages|/tmp/|/home/|/work/|sqlalchemy|psycopg|\[SQL|"
    r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|RecursionError|OverflowError|KeyError|TypeError"
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-corpus")


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    settings = settings_for(home)
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "reviewer", "admin")}
    store.close()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}


def _resolve(value: Any) -> Any:
    """Media markers replaced by their bytes, inside the files of a request."""
    if isinstance(value, Media):
        return hostile_media(value.name)
    if isinstance(value, tuple):
        return tuple(_resolve(item) for item in value)
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    return value


def _send(api: tuple[TestClient, dict[str, dict[str, str]]], case: Http) -> tuple[int, str]:
    client, keys = api
    headers = {**(keys[case.role] if case.role else {}), **case.headers}
    data = case.data
    if data and data.get("csrf") == SIGN_IN_TOKEN:  # the token the sign-in page hands out
        page = client.get("/console/sign-in").text
        data = {**data, "csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1)}
    answer = client.request(
        case.method,
        case.path,
        params=case.params,
        json=case.json,
        content=case.content,
        files=_resolve(case.files),
        data=data,
        headers=headers,
    )
    if answer.status_code >= 400 and "json" in answer.headers.get("content-type", ""):
        error = answer.json()["error"]
        assert set(error) >= {"code", "message"}, answer.text[:300]
    return answer.status_code, answer.text


def _argument(value: str, folder: Path) -> str:
    """`@name` is a file holding that hostile media; `{tmp}` is a scratch folder."""
    if not value.startswith("@"):
        return value.replace("{tmp}", str(folder))
    name = value[1:]
    path = folder / f"{name}.bin"
    if not path.exists():
        path.write_bytes(CLI_FILES[name] if name in CLI_FILES else hostile_media(name))
    return str(path)


def _run_cli(case: Cli, home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    folder = home / "cli-files"
    folder.mkdir(exist_ok=True)
    try:
        code = main([_argument(arg, folder) for arg in case.argv])
    except SystemExit as exit_:  # argparse refuses a malformed command line itself
        code = exit_.code if isinstance(exit_.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("case", [*HTTP_CASES, *CLI_CASES], ids=lambda case: case.id)
def test_hostile_input_gets_its_expected_answer(
    case: Http | Cli, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home = request.getfixturevalue("home")
    if isinstance(case, Http):
        status, text = _send(request.getfixturevalue("api"), case)
        assert status < 500, f"{case.id}: {status} {text[:300]}"
    else:
        status, text = _run_cli(case, home, monkeypatch, capsys)
        text = text.replace(str(home), "<the operator's own files>")  # named by the operator
    assert status == case.expect, f"{case.id}: {status} {text[:300]}"
    leak = LEAKS.search(text)
    assert leak is None, f"{case.id} leaks {leak.group(0)!r}: {text[:300]}"


def test_the_corpus_is_large_and_its_names_unique() -> None:
    names = [case.id for case in [*HTTP_CASES, *CLI_CASES]]
    assert len(names) >= 300
    assert len(set(names)) == len(names), "case ids must be unique"
