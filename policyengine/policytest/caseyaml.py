"""Reading a YAML case file as plain data, bounded, with every problem at file:line:column.

Case files come from anyone who can open a merge request, so reading one must not run code
or exhaust the machine:

- only plain data: mappings, lists, text, numbers, booleans, null and dates (kept as text);
  any other tag (`!!python/object/apply:…`, custom `!tags`) is refused where it stands;
- at most MAX_BYTES, nested at most MAX_DEPTH deep, and at most MAX_VALUES values once the
  aliases are expanded (a "billion laughs" file of under 1 KB expands to 10⁹ values: it is
  refused in milliseconds, before anything is built); an alias inside its own anchor is
  refused;
- every mapping records the line it starts on (`__line__`), for messages about cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from policyengine.errors import PolicyEngineError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 250_000
_CORE = "tag:yaml.org,2002:"
PLAIN_TAGS = frozenset(
    f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)
LINE = "__line__"  # the key under which a mapping records its first line


class CaseFileError(PolicyEngineError):
    """A YAML case file that cannot be read as cases; the message says where."""

    hint = "a case file is YAML: `defaults` (a claim) and `cases` (name, claim, expect)"


def shown(path: Path) -> str:
    """A case file as diagnostics name it: relative to the directory holding the policies,
    `tianjin/tests/outpatient.yaml`, as rule files are named (`tianjin/benefits.policy:8`)."""
    if path.parent.name == "tests" and len(path.parts) >= 3:
        return "/".join(path.parts[-3:])
    return str(path)


def located(path: Path, line: int, column: int | None = None) -> str:
    return f"{shown(path)}:{line}" + (f":{column}" if column is not None else "")


def _at(path: Path, mark: Any) -> str:
    return located(path, mark.line + 1, mark.column + 1) if mark is not None else shown(path)


class _LineLoader(yaml.SafeLoader):
    """Keeps dates as text (claims carry ISO strings) and records each mapping's line."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {
        str(k): v for k, v in yaml.SafeLoader.construct_mapping(loader, node, deep=True).items()
    }
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(f"{_CORE}timestamp", _timestamp_as_text)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_case_yaml(path: Path) -> Any:
    """The file's single document as plain data; CaseFileError saying where, otherwise."""
    text = _read(path)
    _check_events(path, text)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise CaseFileError(f"{_at(path, mark)}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise CaseFileError(f"{shown(path)}: not valid YAML: {error}") from None
    finally:
        loader.dispose()


def _read(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise CaseFileError(f"{shown(path)}: cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise CaseFileError(f"{shown(path)}: larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CaseFileError(f"{located(path, line)}: not UTF-8 text") from None


def _check_events(path: Path, text: str) -> None:
    """Tags and nesting depth, from the event stream (the parser is iterative: a file nested
    5,000 deep is refused here, before the recursive composer sees it)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!" and tag not in PLAIN_TAGS:
                raise CaseFileError(
                    f"{_at(path, event.start_mark)}: the tag `{_shown(tag)}` is not allowed: "
                    "case files hold plain data (mappings, lists, text, numbers, dates)"
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CaseFileError(
                        f"{_at(path, event.start_mark)}: nested more than {MAX_DEPTH} deep"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise CaseFileError(f"{_at(path, mark)}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise CaseFileError(f"{shown(path)}: not valid YAML: {error}") from None


def _shown(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
    return shown if len(shown) <= 80 else shown[:80] + "…"


def _check_expansion(path: Path, root: yaml.Node) -> None:
    """The size and depth the document has once every alias is expanded, computed once per
    node (aliases share nodes), without building anything."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) → (values, depth) when expanded
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            visiting.discard(key)
            parts = [sizes[id(child)] for child in children]
            values = 1 + sum(v for v, _d in parts)
            depth = 1 + max((d for _v, d in parts), default=0)
            sizes[key] = (values, depth)
            if values > MAX_VALUES:
                raise CaseFileError(
                    f"{_at(path, node.start_mark)}: its aliases expand to more than "
                    f"{MAX_VALUES:,} values"
                )
            if depth > MAX_DEPTH:
                raise CaseFileError(
                    f"{_at(path, node.start_mark)}: aliases nest it more than {MAX_DEPTH} deep"
                )
            continue
        if key in sizes:
            continue
        if key in visiting:
            raise CaseFileError(f"{_at(path, node.start_mark)}: an alias inside its own anchor")
        visiting.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def strip_lines(value: Any) -> Any:
    """The data without the `__line__` keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != LINE}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value
