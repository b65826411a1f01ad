"""The hostile-input corpus: every endpoint and CLI command that takes input, and its answer.

Each case is one request (or one command line) and the status (or exit code) it must get. Files
are named, not stored: `Media("png_bomb_4gpx")` is built by `tests.hostile.media` at test time,
and a CLI argument `@name` is a file holding that media. Add a case by adding a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

JOB = "0123456789abcdef0123456789abcdef"  # a well-formed job id that names no job
WATERMARK, FINGERPRINT = "com.stillguard.watermark.v2", "com.stillguard.pdq-frames.v1"


@dataclass(frozen=True)
class Media:
    """A hostile file from `tests.hostile.media`, by name."""

    name: str


@dataclass(frozen=True)
class Http:
    """One request and the status it must be answered with."""

    id: str
    method: str
    path: str
    expect: int
    role: str | None = None  # the key it is sent with: submitter, reviewer, admin or none
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    files: dict[str, tuple[str, Media | bytes]] | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Cli:
    """One command line and the exit code it must end with."""

    id: str
    argv: tuple[str, ...]
    expect: int
    env: dict[str, str] = field(default_factory=dict)


# ---- media uploads --------------------------------------------------------------------------

# name -> (POST /v1/check, POST /v1/jobs, POST /v1/verify, POST /v1/matches/byContent)
UPLOADS: dict[str, tuple[int, int, int, int]] = {
    "png_bomb_48mpx": (413, 413, 200, 415),
    "png_bomb_4gpx": (413, 413, 200, 415),
    "png_bomb_wide": (413, 413, 200, 415),
    "png_zlib_bomb": (200, 202, 200, 415),
    "jpeg_bomb": (413, 413, 200, 415),
    "jpeg_bomb_strip": (413, 413, 200, 415),
    "gif_bomb": (413, 413, 415, 415),
    "mp4_bomb_frames": (413, 415, 413, 413),
    # verify and byContent read a bounded prefix of a clip's frames: a long clip is no bomb there
    "mp4_bomb_duration": (413, 415, 200, 413),
    # the track header's size is not what is decoded: the frames are 192 x 108
    "mp4_bomb_declared": (200, 415, 200, 200),
    "png_magic_only": (400, 400, 422, 415),
    "png_header_only": (400, 400, 422, 415),
    "png_half": (400, 400, 422, 415),
    "png_bad_crc": (400, 400, 200, 415),  # no manifest to check; the pixels are not read
    "jpeg_soi_only": (415, 415, 415, 415),
    "jpeg_20": (400, 400, 422, 415),
    "jpeg_half": (400, 400, 422, 415),
    "gif_header_only": (400, 400, 415, 415),
    "webp_riff_only": (400, 400, 415, 415),
    "mp4_ftyp_only": (422, 415, 422, 422),
    "mp4_600": (422, 415, 422, 422),
    "mp4_half": (422, 415, 422, 422),
    "mp4_no_mdat": (422, 415, 422, 422),
    "empty": (400, 400, 415, 415),
    "one_byte": (415, 415, 415, 415),
    "pdf": (415, 415, 415, 415),
    "zip": (415, 415, 415, 415),
    "html": (415, 415, 415, 415),
    "svg": (415, 415, 415, 415),
    "elf": (415, 415, 415, 415),
    "tiff": (415, 415, 415, 415),
    "bmp": (415, 415, 415, 415),
    "random_4k": (415, 415, 415, 415),
    "nul_4k": (415, 415, 415, 415),
    "ftyp_garbage": (422, 415, 422, 422),
    "utf16_text": (415, 415, 415, 415),
}
# Accepted uploads start work; the corpus sends only what must be refused to the job route.
UPLOAD_ROUTES = (
    ("check", "/v1/check", "file", "submitter"),
    ("jobs", "/v1/jobs", "image", "submitter"),
    ("verify", "/v1/verify", "file", None),
    ("by-content", "/v1/matches/byContent", "file", None),
)


def _upload_cases() -> list[Http]:
    cases = []
    for name, statuses in UPLOADS.items():
        for (route, path, part, role), status in zip(UPLOAD_ROUTES, statuses, strict=True):
            if route == "jobs" and status == 202:
                continue
            files = {part: (f"{name}.bin", Media(name))}
            cases.append(Http(f"{route}-{name}", "POST", path, status, role, files=files))
    return cases


# Hostile file names and content types on a valid photo: the name is never used as a path.
FILENAMES = {
    "traversal": "../../../../etc/passwd",
    "absolute": "/etc/shadow",
    "windows": "..\\..\\windows\\win.ini",
    "nul": "a\x00.png",
    "newline": "a\r\nX-Injected: 1.png",
    "long": "a" * 5000 + ".png",
    "unicode": "\u202egnp.exe",
}


def _filename_cases() -> list[Http]:
    cases = []
    for label, filename in FILENAMES.items():
        cases.append(
            Http(
                f"verify-filename-{label}",
                "POST",
                "/v1/verify",
                200,
                files={"file": (filename, Media("png"))},
            )
        )
        cases.append(
            Http(
                f"check-filename-{label}-as-pdf",
                "POST",
                "/v1/check",
                415,
                "submitter",
                files={"file": (filename, Media("pdf"))},
            )
        )
    return cases


# ---- JSON options of POST /v1/jobs ----------------------------------------------------------

OPTIONS: dict[str, str] = {
    "deep-list": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "nine-deep": json.dumps({"seed": [[[[[[[[[1]]]]]]]]]}),
    "huge-int": '{"seed": ' + "9" * 5000 + "}",
    "int-over-int64": '{"seed": 99999999999999999999}',
    "negative-seed": '{"seed": -1}',
    "float-seed": '{"seed": 1.5}',
    "nan": '{"duration_s": NaN}',
    "infinity": '{"duration_s": Infinity}',
    "huge-float": '{"duration_s": 1e309}',
    "negative-duration": '{"duration_s": -2}',
    "zero-fps": '{"fps": 0}',
    "huge-fps": '{"fps": 100000}',
    "bool-fps": '{"fps": true}',
    "list-fps": '{"fps": [24]}',
    "huge-size": '{"size": "99999x99999"}',
    "traversal-size": '{"size": "../../etc/passwd"}',
    "zero-size": '{"size": "0x0"}',
    "unknown-motion": '{"motion": "../x"}',
    "unknown-style": '{"style": "\\u001b[31m"}',
    "nul-motion-prompt": '{"motion_prompt": "waves\\u0000"}',
    "nul-key": '{"se\\u0000ed": 1}',
    "unknown-key": '{"__proto__": {"admin": true}}',
    "lone-surrogate": '{"motion_prompt": "\\ud800"}',
    "not-json": "{seed: 1}",
    "trailing-garbage": '{"seed": 1} x',
    "array": "[1, 2]",
    "string": '"options"',
    "null": "null",
    "number": "7",
    "bom": '\ufeff{"seed": 1}',
    "oversized": json.dumps({"motion_prompt": "x" * 70_000}),
    "long-motion-prompt": json.dumps({"motion_prompt": "x" * 5000}),
    "wide-object": json.dumps({f"k{i}": i for i in range(5000)}),
}


def _option_cases() -> list[Http]:
    return [
        Http(
            f"jobs-options-{label}",
            "POST",
            "/v1/jobs",
            400,
            "submitter",
            files={"image": ("p.png", Media("png"))},
            data={"options": text},
        )
        for label, text in OPTIONS.items()
    ]


# Other form fields of POST /v1/jobs, each refused before anything is stored.
JOB_FIELDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "prompt-too-long": ({"prompt": "a" * 2001}, {}),
    "prompt-nul": ({"prompt": "a sunset\x00"}, {}),
    "prompt-escape": ({"prompt": "\x1b[2Jsunset"}, {}),
    "prompt-del": ({"prompt": "sun\x7fset"}, {}),
    "callback-file": ({"callback_url": "file:///etc/passwd"}, {}),
    "callback-loopback": ({"callback_url": "http://127.0.0.1:8080/"}, {}),
    "callback-metadata": ({"callback_url": "http://169.254.169.254/latest/meta-data"}, {}),
    "callback-ipv6-loopback": ({"callback_url": "http://[::1]/"}, {}),
    "callback-gopher": ({"callback_url": "gopher://example.com/"}, {}),
    "callback-javascript": ({"callback_url": "javascript:alert(1)"}, {}),
    "callback-nul": ({"callback_url": "https://example.com/\x00"}, {}),
    "callback-long": ({"callback_url": "https://example.com/" + "a" * 5000}, {}),
    "callback-no-host": ({"callback_url": "https:///x"}, {}),
    "idempotency-long": ({}, {"Idempotency-Key": "k" * 201}),
}


def _job_field_cases() -> list[Http]:
    return [
        Http(
            f"jobs-{label}",
            "POST",
            "/v1/jobs",
            400,
            "submitter",
            files={"image": ("p.png", Media("png"))},
            data=data,
            headers=headers,
        )
        for label, (data, headers) in JOB_FIELDS.items()
    ]


# ---- path parameters: traversal, NUL, control characters, length ----------------------------

TRAVERSALS: dict[str, str] = {
    "dotdot": "..",
    "encoded-slash": "..%2F..%2Fetc%2Fpasswd",
    "double-encoded": "%252e%252e%252fetc",
    "backslash": "..%5C..%5Cwindows",
    "nul": "abc%00",
    "newline": "abc%0A",
    "crlf": "abc%0D%0ASet-Cookie:x",
    "long": "a" * 4000,
    "sql": "1%27%20OR%20%271%27%3D%271",
    "unicode-dots": "%E2%80%A5%E2%80%A5%2Fetc",
}

# (label, method, path with {}, role, json body, expected status for an id that names nothing)
PATH_ROUTES: tuple[tuple[str, str, str, str, Any, int], ...] = (
    ("job", "GET", "/v1/jobs/{}", "submitter", None, 404),
    ("job-video", "GET", "/v1/jobs/{}/video", "submitter", None, 404),
    ("job-reasons", "GET", "/v1/jobs/{}/reasons", "submitter", None, 404),
    ("job-appeal", "POST", "/v1/jobs/{}/appeal", "submitter", {"text": "why"}, 404),
    ("job-extend", "POST", "/v1/jobs/{}/extend", "submitter", {"duration_s": 4}, 404),
    ("job-input", "GET", "/v1/jobs/{}/input", "reviewer", None, 404),
    ("job-clip", "GET", "/v1/jobs/{}/clip", "reviewer", None, 404),
    ("job-timeline", "GET", "/v1/jobs/{}/timeline", "reviewer", None, 404),
    ("review-claim", "POST", "/v1/reviews/{}/claim", "reviewer", None, 404),
    (
        "review-decision",
        "POST",
        "/v1/reviews/{}/decision",
        "reviewer",
        {"action": "approve", "reason": "ok"},
        404,
    ),
    ("policy-activate", "POST", "/v1/policies/versions/{}/activate", "admin", None, 404),
    ("policy-shadow", "PUT", "/v1/policies/shadow/{}", "admin", None, 404),
    ("hash-bank", "PUT", "/v1/hash-banks/{}", "admin", None, 400),
    ("console-static", "GET", "/console/static/{}", None, None, 404),
)
# A traversal that leaves the route's pattern (an encoded slash, `..`) reaches no route: 404.
LEAVES_ROUTE = {"dotdot", "encoded-slash", "unicode-dots"}


def _path_cases() -> list[Http]:
    cases = []
    for label, method, template, role, body, status in PATH_ROUTES:
        for name, value in TRAVERSALS.items():
            expect = 404 if name in LEAVES_ROUTE else status
            content = b"" if label == "hash-bank" else None
            cases.append(
                Http(
                    f"{label}-{name}",
                    method,
                    template.format(value),
                    expect,
                    role,
                    json=body,
                    content=content,
                )
            )
    return cases


def _surface_cases() -> list[Http]:
    """The `surface` query names a pack row, never a file; a bad one is 400."""
    cases = []
    for name in ("../../etc", "a\x00", "A" * 65, "x y", "\u00e9"):
        for method, path in (
            ("GET", "/v1/policies"),
            ("POST", "/v1/policies/rollback"),
            ("PUT", "/v1/policies"),
            ("DELETE", "/v1/policies/shadow"),
            ("POST", f"/v1/policies/versions/{'v'}/activate"),
        ):
            route = path.strip("/").replace("/", "-")
            label = f"surface-{method.lower()}-{route}-{name.encode().hex()[:12]}"
            cases.append(Http(label, method, path, 400, "admin", params={"surface": name}))
    return cases


# ---- queries ------------------------------------------------------------------------------

AUDIT_QUERIES: dict[str, tuple[dict[str, str], int]] = {
    "after-overflow": ({"after": "99999999999999999999999"}, 400),
    "after-negative": ({"after": "-1"}, 400),
    "after-text": ({"after": "abc"}, 400),
    "after-float": ({"after": "1e3"}, 400),
    "limit-zero": ({"limit": "0"}, 400),
    "limit-huge": ({"limit": "1001"}, 400),
    "limit-overflow": ({"limit": "9" * 400}, 400),
    "since-garbage": ({"since": "yesterday"}, 400),
    "since-bad-date": ({"since": "2026-13-45T99:99:99"}, 400),
    "until-year-99999": ({"until": "99999-01-01T00:00:00"}, 400),
    "job-nul": ({"job": "abc\x00"}, 400),
    "stage-nul": ({"stage": "\x00"}, 400),
    "action-nul": ({"action": "a\x00b"}, 400),
    "policy-nul": ({"policy": "\x00"}, 400),
    "job-escape": ({"job": "\x1b[31m"}, 400),
    "job-long": ({"job": "j" * 201}, 400),
    "job-sql": ({"job": "' OR '1'='1' --"}, 200),
    "job-traversal": ({"job": "../../etc/passwd"}, 200),
    "stage-unicode": ({"stage": "\u202e\u0000"}, 400),
}
BINDING_QUERIES: dict[str, tuple[dict[str, str], int]] = {
    "missing": ({}, 400),
    "alg-unknown": ({"alg": "md5", "value": "AAAA"}, 400),
    "alg-nul": ({"alg": "\x00", "value": "AAAA"}, 400),
    "alg-traversal": ({"alg": "../../etc/passwd", "value": "AAAA"}, 400),
    "watermark-not-base64": ({"alg": WATERMARK, "value": "!!!"}, 400),
    "watermark-wrong-length": ({"alg": WATERMARK, "value": "QUFBQUFBQUE="}, 400),
    "watermark-huge": ({"alg": WATERMARK, "value": "A" * 60_000}, 400),
    "fingerprint-not-hex": ({"alg": FINGERPRINT, "value": "zz" * 32}, 400),
    "fingerprint-nul": ({"alg": FINGERPRINT, "value": "\x00" * 64}, 400),
    "fingerprint-many": ({"alg": FINGERPRINT, "value": ",".join(["f" * 64] * 900)}, 200),
    "fingerprint-huge": ({"alg": FINGERPRINT, "value": "f" * 60_000}, 400),
}
REVIEW_LIST_QUERIES = {"zero": "0", "negative": "-5", "huge": "9" * 50, "text": "all"}


def _query_cases() -> list[Http]:
    cases = [
        Http(f"audit-{label}", "GET", "/v1/audit", status, "reviewer", params=params)
        for label, (params, status) in AUDIT_QUERIES.items()
    ]
    cases += [
        Http(f"by-binding-{label}", "GET", "/v1/matches/byBinding", status, params=params)
        for label, (params, status) in BINDING_QUERIES.items()
    ]
    cases += [
        Http(f"reviews-limit-{label}", "GET", "/v1/reviews", 400, "reviewer", params={"limit": v})
        for label, v in REVIEW_LIST_QUERIES.items()
    ]
    cases += [
        Http("shadow-report-since-garbage", "GET", "/v1/policies/shadow/report", 400, "admin",
             params={"since": "\x00"}),
        Http("shadow-report-since-huge", "GET", "/v1/policies/shadow/report", 400, "admin",
             params={"since": "9" * 400}),
    ]  # fmt: skip
    return cases


# ---- JSON bodies ----------------------------------------------------------------------------

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
JSON_BODIES: dict[str, bytes] = {
    "deep-list": DEEP_JSON,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "huge-int": b'{"x": ' + b"9" * 5000 + b"}",
    "not-json": b"{action: approve}",
    "invalid-utf8": b'{"text": "\xff\xfe"}',
    "utf16": '{"text": "x"}'.encode("utf-16"),
    "array": b"[]",
    "null": b"null",
    "empty": b"",
    "nan": b'{"text": NaN}',
}
# (label, method, path, role, good body, fields to make hostile)
BODY_ROUTES: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("review-decision", "POST", f"/v1/reviews/{JOB}/decision", "reviewer",
     {"action": "approve", "reason": "ok"}),
    ("appeal", "POST", f"/v1/jobs/{JOB}/appeal", "submitter", {"text": "it was a cat"}),
    ("extend", "POST", f"/v1/jobs/{JOB}/extend", "submitter", {"duration_s": 4}),
    ("webhook", "PUT", "/v1/webhook", "submitter", {"url": "https://example.com/hook"}),
)  # fmt: skip
FIELD_VALUES: dict[str, Any] = {
    "nul": "x\x00",
    "escape": "\x1b]0;pwned\x07",
    "long": "x" * 100_000,
    "empty": "",
    "number": 1e308,
    "list": ["x"],
    "object": {"$gt": ""},
    "null": None,
}
# What each route answers to a hostile value in its first field (the job named does not exist).
FIELD_STATUS: dict[str, dict[str, int]] = {
    "review-decision": dict.fromkeys(FIELD_VALUES, 400),
    # the text is checked by the appeal itself, once the job is found
    "appeal": {**dict.fromkeys(FIELD_VALUES, 400), "nul": 404, "escape": 404},
    "extend": {**dict.fromkeys(FIELD_VALUES, 404)},
    "webhook": dict.fromkeys(FIELD_VALUES, 400),
}


def _body_cases() -> list[Http]:
    cases = []
    for label, method, path, role, good in BODY_ROUTES:
        json_headers = {"Content-Type": "application/json"}
        for name, raw in JSON_BODIES.items():
            cases.append(
                Http(f"{label}-body-{name}", method, path, 400, role, content=raw,
                     headers=json_headers)
            )  # fmt: skip
        first = next(iter(good))
        for name, value in FIELD_VALUES.items():
            body = {**good, first: value}
            status = FIELD_STATUS[label][name]
            cases.append(Http(f"{label}-{first}-{name}", method, path, status, role, json=body))
        cases.append(
            Http(f"{label}-extra-field", method, path, 400 if label != "review-decision" else 404,
                 role, json={**good, "__class__": "x"})
        )  # fmt: skip
    return cases


# ---- policy packs (YAML) and hash banks (text) ----------------------------------------------

BILLION_LAUGHS = (
    "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}]\n" for i in range(8))
    + "version: bomb\nstages: *i\n"
)
POLICIES: dict[str, tuple[bytes, int]] = {
    "alias-bomb": (BILLION_LAUGHS.encode(), 400),
    "one-alias": (b"version: &v '1'\nstages: {}\nx: *v\n", 400),
    "deep-flow": (b"version: '1'\nstages: " + b"[" * 10_000 + b"]" * 10_000, 400),
    "deep-block": ("".join("  " * i + f"k{i}:\n" for i in range(500)).encode(), 400),
    "python-tag": (b"version: !!python/object/apply:os.system ['id']\nstages: {}\n", 400),
    "nul": (b"version: '1\x00'\nstages: {}\n", 400),
    "escape": (b"version: '1'\ndescription: \"\\e[31m\"\nstages: {}\n", 400),
    "invalid-utf8": (b"version: '\xff\xfe'\nstages: {}\n", 400),
    "utf16": ("version: '1'\nstages: {}\n".encode("utf-16"), 400),
    "empty": (b"", 400),
    "scalar": (b"just text", 400),
    "list": (b"- 1\n- 2\n", 400),
    "traversal-version": (b"version: '../../etc/passwd'\nstages: {}\n", 400),
    "long-version": (b"version: '" + b"v" * 5000 + b"'\nstages: {}\n", 400),
    "huge-int-version": (b"version: " + b"9" * 5000 + b"\nstages: {}\n", 400),
    "unknown-key": (b"version: '1'\nstages: {}\nexec: rm\n", 400),
    "oversized": (b"description: '" + b"x" * 300_000 + b"'\n", 413),
    "tabs": (b"version:\t'1'\n\tstages: {}\n", 400),
    "merge-key": (b"base: &b {a: 1}\nversion: '1'\nstages:\n  <<: *b\n", 400),
    "json-deep": (b'{"version": "1", "stages": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
}
HASH_BANKS: dict[str, bytes] = {
    "nul-label": b"f" * 64 + b",bad\x00label\n",
    "escape-label": b"f" * 64 + b",\x1b[31mred\n",
    "short-hash": b"f" * 63 + b"\n",
    "not-hex": b"g" * 64 + b"\n",
    "invalid-utf8": b"f" * 64 + b",\xff\xfe\n",
    "utf16": ("f" * 64 + "\n").encode("utf-16"),
    "binary": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "long-label": b"f" * 64 + b"," + b"l" * 100_000 + b"\n",
}


def _admin_body_cases() -> list[Http]:
    cases = []
    for name, (body, status) in POLICIES.items():
        for method, path in (("PUT", "/v1/policies"), ("POST", "/v1/policies/versions")):
            verb = "put" if method == "PUT" else "upload"
            headers = {"Content-Type": "application/yaml"}
            cases.append(
                Http(f"policy-{verb}-{name}", method, path, status, "admin", content=body,
                     headers=headers)
            )  # fmt: skip
    for name, body in HASH_BANKS.items():
        cases.append(Http(f"hash-bank-{name}", "PUT", "/v1/hash-banks/corpus", 400, "admin",
                          content=body, headers={"Content-Type": "text/plain"}))  # fmt: skip
    return cases


# ---- the time-stamp authority, keys, the console --------------------------------------------

TSA: dict[str, tuple[bytes, str, int]] = {
    "wrong-type": (b"\x30\x00", "application/json", 415),
    "no-type": (b"\x30\x00", "", 415),
    "empty": (b"", "application/timestamp-query", 400),
    "garbage": (b"hello", "application/timestamp-query", 400),
    "truncated-der": (b"\x30\x82\xff\xff\x02\x01", "application/timestamp-query", 400),
    "deep-der": (b"\x30\x80" * 20_000, "application/timestamp-query", 400),
    "oversized": (b"\x30" * 70_000, "application/timestamp-query", 413),
}
AUTH_HEADERS: dict[str, str | bytes] = {
    "no-scheme": "sk_abc",
    "basic": "Basic YWRtaW46YWRtaW4=",
    "empty-bearer": "Bearer ",
    "long": "Bearer " + "k" * 10_000,
    "traversal": "Bearer ../../etc/passwd",
    "sql": "Bearer ' OR '1'='1",
    "latin1": "Bearer caf\u00e9".encode("latin-1"),
    "two-keys": "Bearer a, Bearer b",
}
# The sign-in form's own CSRF token, filled in by the runner as a browser would (`{sign-in}`).
SIGN_IN_TOKEN = "{sign-in}"
CONSOLE_SIGN_IN: dict[str, tuple[dict[str, str], int]] = {
    "bad-key": ({"api_key": "nope", "csrf": SIGN_IN_TOKEN}, 401),
    "long-key": ({"api_key": "k" * 100_000, "csrf": SIGN_IN_TOKEN}, 401),
    "nul-key": ({"api_key": "\x00", "csrf": SIGN_IN_TOKEN}, 401),
    "open-redirect": ({"api_key": "nope", "next": "//evil.example/", "csrf": SIGN_IN_TOKEN}, 401),
    "traversal-next": (
        {"api_key": "nope", "next": "/../../etc/passwd", "csrf": SIGN_IN_TOKEN},
        401,
    ),
    "no-token": ({"api_key": "nope"}, 403),
    "forged-token": ({"api_key": "nope", "csrf": "forged"}, 403),
    "nul-token": ({"api_key": "nope", "csrf": "\x00"}, 403),
}


def _misc_cases() -> list[Http]:
    cases = [
        Http(f"tsa-{name}", "POST", "/tsa", status, content=body,
             headers={"Content-Type": ctype} if ctype else {})
        for name, (body, ctype, status) in TSA.items()
    ]  # fmt: skip
    for name, value in AUTH_HEADERS.items():
        for path in ("/v1/reviews", "/v1/webhook"):
            cases.append(
                Http(f"auth-{name}{path.replace('/', '-')}", "GET", path, 401,
                     headers={"Authorization": value})
            )  # fmt: skip
    cases += [
        Http(f"console-sign-in-{name}", "POST", "/console/sign-in", status, data=data)
        for name, (data, status) in CONSOLE_SIGN_IN.items()
    ]
    cases += [
        Http("role-submitter-audit", "GET", "/v1/audit", 403, "submitter"),
        Http("role-reviewer-policies", "GET", "/v1/policies", 403, "reviewer"),
        Http("role-none-check", "POST", "/v1/check", 401, files={"file": ("p", Media("png"))}),
        Http("check-nothing", "POST", "/v1/check", 400, "submitter", data={"stage": "input"}),
        Http("check-bad-stage", "POST", "/v1/check", 400, "submitter",
             data={"prompt": "hi", "stage": "../x"}),
        Http("check-clip-at-input", "POST", "/v1/check", 400, "submitter",
             data={"stage": "input"}, files={"file": ("c.mp4", Media("mp4"))}),
        Http("check-prompt-nul", "POST", "/v1/check", 400, "submitter",
             data={"prompt": "sun\x00"}),
        Http("check-prompt-long", "POST", "/v1/check", 400, "submitter",
             data={"prompt": "a" * 2001}),
        Http("verify-no-file", "POST", "/v1/verify", 400),
        Http("verify-file-as-field", "POST", "/v1/verify", 400, data={"file": "x"}),
        Http("verify-json", "POST", "/v1/verify", 400, json={"file": "x"}),
        Http("jobs-no-image", "POST", "/v1/jobs", 400, "submitter", data={"prompt": "x"}),
        Http("jobs-bad-multipart", "POST", "/v1/jobs", 400, "submitter",
             content=b"--x\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n",
             headers={"Content-Type": "multipart/form-data; boundary=x"}),
        Http("jobs-no-boundary", "POST", "/v1/jobs", 400, "submitter", content=b"abc",
             headers={"Content-Type": "multipart/form-data"}),
        Http("method-delete-verify", "DELETE", "/v1/verify", 405),
        Http("method-put-jobs", "PUT", "/v1/jobs", 405, "submitter"),
        Http("unknown-route", "GET", "/v1/../../etc/passwd", 404),
    ]  # fmt: skip
    return cases


# ---- the command line -----------------------------------------------------------------------

CLI_MEDIA: dict[str, tuple[int, int]] = {  # name -> (check, verify)
    "png_bomb_4gpx": (2, 1),
    "jpeg_bomb": (2, 1),
    "gif_bomb": (2, 2),  # verify reads MP4, JPEG and PNG
    "mp4_bomb_frames": (2, 2),
    "mp4_bomb_duration": (2, 1),  # verify reads a bounded prefix: no manifest, exit 1
    "mp4_bomb_declared": (0, 1),  # the frames decoded are small, whatever the header says
    "png_half": (2, 2),
    "jpeg_20": (2, 2),
    "mp4_600": (2, 2),
    "mp4_no_mdat": (2, 2),
    "empty": (2, 2),
    "pdf": (2, 2),
    "elf": (2, 2),
    "random_4k": (2, 2),
}
CLI_OTHER: tuple[Cli, ...] = (
    Cli("verify-missing-file", ("verify", "/no/such/file.mp4"), 2),
    Cli("verify-directory", ("verify", "/"), 2),
    Cli("verify-device", ("verify", "/dev/zero"), 2),
    Cli("verify-nul-path", ("verify", "a\x00b"), 2),
    Cli("check-nothing", ("check",), 2),
    Cli("check-prompt-nul", ("check", "--prompt", "sun\x00"), 2),
    Cli("check-prompt-long", ("check", "--prompt", "a" * 2001), 2),
    Cli("check-bad-stage", ("check", "--prompt", "x", "--stage", "../x"), 2),
    Cli("check-clip-at-input", ("check", "@mp4", "--stage", "input"), 2),
    Cli("run-photo-bomb", ("run", "@png_bomb_4gpx", "--out", "{tmp}/o.mp4"), 2),
    Cli("run-not-a-photo", ("run", "@pdf", "--out", "{tmp}/o.mp4"), 2),
    Cli("run-missing-photo", ("run", "/no/such.jpg"), 2),
    Cli("run-huge-size", ("run", "@png", "--size", "99999x99999"), 2),
    Cli("run-traversal-size", ("run", "@png", "--size", "../etc"), 2),
    Cli("run-zero-fps", ("run", "@png", "--fps", "0"), 2),
    Cli("run-text-fps", ("run", "@png", "--fps", "many"), 2),
    Cli("run-nan-duration", ("run", "@png", "--duration", "nan"), 2),
    Cli("run-inf-duration", ("run", "@png", "--duration", "inf"), 2),
    Cli("run-negative-variations", ("run", "@png", "--variations", "-1"), 2),
    Cli("run-huge-variations", ("run", "@png", "--variations", "100000"), 2),
    Cli("run-huge-seed", ("run", "@png", "--seed", "9" * 5000), 2),
    Cli("run-bad-motion", ("run", "@png", "--motion", "../x"), 2),
    Cli("run-bad-style", ("run", "@png", "--style", "\x00"), 2),
    Cli("run-prompt-nul", ("run", "@png", "--prompt", "sun\x00"), 2),
    Cli("run-prompt-long", ("run", "@png", "--prompt", "a" * 2001), 2),
    Cli("extend-traversal", ("extend", "../../etc", "--duration", "4", "--out", "{tmp}/e.mp4"), 2),
    Cli("extend-nul", ("extend", "abc\x00", "--duration", "4", "--out", "{tmp}/e.mp4"), 2),
    Cli("extend-unknown", ("extend", JOB, "--duration", "4", "--out", "{tmp}/e.mp4"), 2),
    Cli("extend-nan", ("extend", JOB, "--duration", "nan", "--out", "{tmp}/e.mp4"), 2),
    Cli("audit-after-overflow", ("audit", "query", "--after", "9" * 30), 2),
    Cli("audit-after-negative", ("audit", "query", "--after", "-1"), 2),
    Cli("audit-limit-zero", ("audit", "query", "--limit", "0"), 2),
    Cli("audit-limit-text", ("audit", "query", "--limit", "x"), 2),
    Cli("audit-job-nul", ("audit", "query", "--job", "a\x00"), 2),
    Cli("audit-since-garbage", ("audit", "query", "--since", "yesterday"), 2),
    Cli("audit-export-missing-dir", ("audit", "checkpoint", "export", "{tmp}/no/such/dir"), 2),
    Cli("keys-bad-role", ("keys", "create", "--role", "root"), 2),
    Cli("review-decide-traversal", ("review", "decide", "../x", "--action", "approve",
                                    "--reason", "r"), 2),
    Cli("review-decide-bad-action", ("review", "decide", JOB, "--action", "nuke",
                                     "--reason", "r"), 2),
    Cli("review-decide-nul-reason", ("review", "decide", JOB, "--action", "approve",
                                     "--reason", "r\x00"), 2),
    Cli("review-claim-nul", ("review", "claim", "a\x00"), 2),
    Cli("review-claim-nan-minutes", ("review", "claim", JOB, "--minutes", "nan"), 2),
    Cli("review-claim-negative-minutes", ("review", "claim", JOB, "--minutes", "-5"), 2),
    Cli("review-list-negative", ("review", "list", "--limit", "-1"), 2),
    Cli("dlq-list-traversal", ("dlq", "list", "../../etc/passwd"), 0),  # a filter, no file
    Cli("dlq-replay-nul", ("dlq", "replay", "a\x00"), 2),
    Cli("dlq-replay-bad-id", ("dlq", "replay", "stillguard.jobs", "--id", "x"), 2),
    Cli("policy-validate-alias-bomb", ("policy", "validate", "@policy_alias_bomb"), 2),
    Cli("policy-validate-deep", ("policy", "validate", "@policy_deep"), 2),
    Cli("policy-validate-binary", ("policy", "validate", "@random_4k"), 2),
    Cli("policy-validate-missing", ("policy", "validate", "/no/such.yaml"), 2),
    Cli("policy-validate-device", ("policy", "validate", "/dev/zero"), 2),
    Cli("policy-backtest-alias-bomb", ("policy", "backtest", "@policy_alias_bomb"), 2),
    Cli("policy-backtest-bad-since", ("policy", "backtest", "@policy_deep", "--since", "x"), 2),
    Cli("policy-upload-alias-bomb", ("policy", "upload", "@policy_alias_bomb"), 2),
    Cli("policy-upload-nul", ("policy", "upload", "@policy_nul"), 2),
    Cli("policy-activate-traversal", ("policy", "activate", "../../etc"), 2),
    Cli("policy-activate-unknown", ("policy", "activate", "no-such-version"), 2),
    Cli("policy-shadow-nul", ("policy", "shadow", "a\x00"), 2),
    Cli("policy-surface-traversal", ("policy", "rollback", "--surface", "../x"), 2),
    Cli("authority-export-missing", ("authority", "export-trust", "{tmp}/no/such/dir"), 2),
    Cli("authority-rotate-bad-alg", ("authority", "rotate", "--alg", "md5"), 2),
    Cli("worker-bad-stage", ("worker", "../x"), 2),
    Cli("serve-bad-port", ("serve", "--port", "http"), 2),
    Cli("unknown-command", ("../../bin/sh",), 2),
    Cli("settings-bad-upload-limit", ("check", "--prompt", "hi"), 2,
        {"STILLGUARD_MAX_UPLOAD_BYTES": "lots"}),
    Cli("settings-nul-database", ("check", "--prompt", "hi"), 2,
        {"STILLGUARD_MAX_DECODED_PIXELS": "-1"}),
)  # fmt: skip
# Files that only the CLI reads.
CLI_FILES: dict[str, bytes] = {
    "policy_alias_bomb": BILLION_LAUGHS.encode(),
    "policy_deep": POLICIES["deep-flow"][0],
    "policy_nul": POLICIES["nul"][0],
}


def _cli_cases() -> list[Cli]:
    cases = []
    for name, (check, verify) in CLI_MEDIA.items():
        cases.append(Cli(f"check-{name}", ("check", f"@{name}", "--json"), check))
        cases.append(Cli(f"verify-{name}", ("verify", f"@{name}", "--json"), verify))
    return [replace(case, id=f"cli-{case.id}") for case in [*cases, *CLI_OTHER]]


# Where a family's rule has a reasoned exception.
EXCEPTIONS: dict[str, int] = {
    # The client resolves a trailing `..` first: these reach the parent route instead.
    "console-static-dotdot": 303,  # /console/: sign in first
    "policy-shadow-dotdot": 400,  # PUT /v1/policies with an empty pack
    "hash-bank-double-encoded": 404,  # '%2e%2e%2fetc' reaches no route
    # A multipart part header over the parser's line limit is malformed multipart.
    "verify-filename-long": 400,
    "check-filename-long-as-pdf": 400,
    # A UTF-16 JSON body is valid JSON: the appeal's job is looked up (and not found).
    "appeal-body-utf16": 404,
}
HTTP_CASES: list[Http] = [
    replace(case, expect=EXCEPTIONS.get(case.id, case.expect))
    for case in _upload_cases()
    + _filename_cases()
    + _option_cases()
    + _job_field_cases()
    + _path_cases()
    + _surface_cases()
    + _query_cases()
    + _body_cases()
    + _admin_body_cases()
    + _misc_cases()
]
CLI_CASES: list[Cli] = _cli_cases()
