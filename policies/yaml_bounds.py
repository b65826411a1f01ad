"""Reading an uploaded policy YAML safely: no anchors or aliases, bounded nesting, no control
characters, and the line and column of every node, so errors point at the text.

Aliases are refused outright (not merely bounded): a pack never needs them, and refusing them
makes an alias bomb (a 490-byte document that expands to hundreds of millions of characters)
impossible rather than merely expensive.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import yaml

MAX_DEPTH = 8
Path = tuple[Any, ...]
Locate = Callable[[Path], str]


class YamlBoundsError(ValueError):
    """The text breaks one of the bounds; the message starts with `line L, column C`."""


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"


def _check_characters(text: str) -> None:
    line, column = 1, 1
    for char in text:
        if char == "\n":
            line, column = line + 1, 1
            continue
        if char not in "\t\r" and unicodedata.category(char) == "Cc":
            raise YamlBoundsError(
                f"line {line}, column {column}: control character U+{ord(char):04X} "
                "is not allowed anywhere in a policy pack"
            )
        column += 1


def _check_structure(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlBoundsError(
                f"{_where(event.start_mark)}: YAML anchors and aliases are not allowed "
                "in a policy pack; write each value out"
            )
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlBoundsError(
                    f"{_where(event.start_mark)}: nested deeper than {MAX_DEPTH} levels"
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def load_bounded(text: str) -> tuple[Any, Locate]:
    """The parsed document and a function naming the line and column of a path in it."""
    _check_characters(text)
    try:
        _check_structure(text)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        raise YamlBoundsError(
            f"{_where(error.problem_mark)}: not valid YAML: {error.problem}"
        ) from error
    except yaml.YAMLError as error:
        raise YamlBoundsError(f"not valid YAML: {error}") from error
    except YamlBoundsError:
        raise
    except ValueError as error:  # an integer over Python's digit limit (sys.int_info)
        raise YamlBoundsError(f"a value cannot be read: {str(error)[:120]}") from error
    marks: dict[Path, yaml.Mark] = {}
    if node is not None:
        _collect_marks(node, (), marks)

    def locate(path: Path) -> str:
        while path and path not in marks:
            path = path[:-1]
        return _where(marks.get(path))

    return data, locate


def _collect_marks(node: yaml.Node, path: Path, marks: dict[Path, yaml.Mark]) -> None:
    marks[path] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _collect_marks(value, (*path, key.value), marks)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_marks(item, (*path, index), marks)
