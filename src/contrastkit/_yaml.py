"""A bounded safe YAML loader: size, nesting depth, aliases and expanded size are capped.

``yaml.safe_load`` refuses arbitrary Python objects, but not resource attacks: a few hundred bytes
of nested aliases ("billion laughs") expand to a structure whose ``repr`` is hundreds of MB, and a
few thousand levels of ``[[[...]]]`` exhaust the recursion limit. :func:`load_yaml` composes the
document with PyYAML's ``SafeLoader`` and checks, before anything is constructed:

- the text is at most ``max_bytes`` bytes (UTF-8);
- no node is nested deeper than ``max_depth`` (checked while composing, so deep input never recurses far);
- at most ``max_aliases`` aliases (``*name``) are used;
- the document expanded (every alias replaced by a copy of its anchor) has at most ``max_nodes`` nodes;
- no mapping has the same key twice (``yaml.safe_load`` would keep the last one without a word).

Every failure is a :class:`YAMLLimitError` (a ``ValueError``) with one short line; PyYAML's own
errors (syntax, tags such as ``!!python/object``) are re-raised as ``ValueError`` with a bounded message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_ALIASES = 128
MAX_NODES = 100_000
_MESSAGE_CHARS = 300


class YAMLLimitError(ValueError):
    """YAML input that is invalid or exceeds one of the loader's bounds."""


def _short(text: str, limit: int = _MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and aliases while composing the node graph."""

    max_depth = MAX_DEPTH
    max_aliases = MAX_ALIASES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.max_aliases:
                raise YAMLLimitError(f"more than {self.max_aliases} aliases (*name)")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.max_depth:
            raise YAMLLimitError(f"nested deeper than {self.max_depth} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):  # safe_load keeps the last of two equal keys, silently
            seen: set[tuple[str, str]] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        line = key.start_mark.line + 1
                        raise YAMLLimitError(f"duplicate key {_short(key.value, 60)!r} (line {line})")
                    seen.add((key.tag, key.value))
        return node


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """Node count with aliases expanded, memoised per node (linear in the composed graph)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        if children_done or not children:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > limit:
                raise YAMLLimitError(f"expands to more than {limit} nodes (aliases repeat their anchors)")
            sizes[id(current)] = total
        else:
            stack.append((current, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def load_yaml(
    text_or_path: str | Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
    source: str | None = None,
) -> Any:  # noqa: ANN401 - any YAML value
    """Parse one YAML document safely within the given bounds.

    Args:
        text_or_path: YAML text (``str``) or a file (``pathlib.Path``; the file size is checked
            before it is read).
        max_bytes: largest accepted input, in bytes of UTF-8.
        max_depth: deepest accepted nesting (a scalar at the top level is depth 1).
        max_aliases: most alias uses (``*name``) accepted.
        max_nodes: most nodes of the document with every alias expanded.
        source: name used in error messages (default: the path, or ``"YAML"``).

    Returns:
        The constructed value (``None`` for an empty document).

    Raises:
        YAMLLimitError: the input is not valid safe YAML or exceeds a bound; one line naming ``source``.
    """
    if isinstance(text_or_path, Path):
        name = source or str(text_or_path)
        try:
            size = text_or_path.stat().st_size
        except OSError as err:
            raise YAMLLimitError(f"{name}: cannot read ({err.strerror or err})") from None
        if size > max_bytes:
            raise YAMLLimitError(f"{name}: {size} bytes, more than the {max_bytes} accepted")
        try:
            text = text_or_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise YAMLLimitError(f"{name}: cannot read as UTF-8 text ({_short(err)})") from None
    elif isinstance(text_or_path, str):
        name = source or "YAML"
        text = text_or_path
    else:
        raise TypeError(f"text_or_path: expected str or pathlib.Path, got {type(text_or_path).__name__}")
    size = len(text.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise YAMLLimitError(f"{name}: {size} bytes, more than the {max_bytes} accepted")

    try:  # the reader refuses control characters when it is built
        loader = _BoundedLoader(text)
    except yaml.YAMLError as err:
        raise YAMLLimitError(f"{name}: not valid YAML: {_short(err)}") from None
    loader.max_depth, loader.max_aliases = max_depth, max_aliases
    try:
        try:
            node = loader.get_single_node()
        except YAMLLimitError as err:
            raise YAMLLimitError(f"{name}: {err}") from None
        except RecursionError:
            raise YAMLLimitError(f"{name}: nested too deeply") from None
        except yaml.YAMLError as err:
            raise YAMLLimitError(f"{name}: not valid YAML: {_short(err)}") from None
        if node is None:
            return None
        try:
            _expanded_size(node, max_nodes)
        except YAMLLimitError as err:
            raise YAMLLimitError(f"{name}: {err}") from None
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as err:  # e.g. ConstructorError for !!python/object tags
            raise YAMLLimitError(f"{name}: not valid YAML: {_short(err)}") from None
        except ValueError as err:  # e.g. an integer of more than 4300 digits (int() refuses to convert it)
            raise YAMLLimitError(f"{name}: value out of range: {_short(err)}") from None
    finally:
        loader.dispose()


__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YAMLLimitError", "load_yaml"]
