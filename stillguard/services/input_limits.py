"""The limits every caller's input meets before anything is stored or queried.

JSON bodies are bounded in size, depth and integer digits; text is bounded in length and may
not carry control characters (NUL cannot even be stored in PostgreSQL text). Breaking a limit
is InvalidInput with a message safe to show: no paths, SQL or tracebacks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidInput

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 8
MAX_QUERY_CHARS = 200
# C0 controls other than tab, newline and carriage return, DEL, and lone surrogates (which JSON's
# \uD800 escapes can produce, and no encoder can store).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
SAFE_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def has_control_characters(text: str) -> bool:
    """True when `text` holds a character no field of ours accepts (e.g. NUL, a lone surrogate)."""
    return CONTROL_CHARACTERS.search(text) is not None


def parse_json_object(text: str, *, code: str, what: str) -> dict[str, Any]:
    """A small JSON object, or InvalidInput saying which limit it broke."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise InvalidInput(code, f"{what} is over {MAX_JSON_BYTES} bytes")
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise InvalidInput(code, f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, and integers over Python's digit limit
        raise InvalidInput(code, f"{what} is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(code, f"{what} must be a JSON object")
    _check_tree(parsed, code=code, what=what)
    return parsed


def _check_tree(value: Any, *, code: str, what: str) -> None:
    """Depth and strings of a parsed document, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(code, f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, item in node.items():
                if has_control_characters(key):
                    raise InvalidInput(code, f"{what} has control characters (e.g. NUL)")
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and has_control_characters(node):
            raise InvalidInput(code, f"{what} has control characters (e.g. NUL)")
