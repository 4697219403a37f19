"""YAML text to data, bounded, with errors that say where (config files, plans and kubeconfigs
share this one reader).

Hostile input is refused before it can cost time or memory:
- files: only regular files (a FIFO or /dev/zero is refused without blocking), at most
  `MAX_BYTES` (4 MiB);
- aliases: at most `MAX_ALIASES` alias uses, and the document's size with every alias expanded
  (what anything walking the data would see) at most `MAX_EXPANDED_NODES`; an anchor used inside
  itself (a recursive structure) is refused;
- duplicate keys in a mapping are an error naming both lines (YAML's "later one wins" hides
  typos in configs).

Aliased nodes stay shared Python objects (PyYAML constructs each node once), so a document
within the limits never turns into copies here.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cockpit.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 1_000
MAX_EXPANDED_NODES = 200_000
MAX_DEPTH = 200
MAX_INT_DIGITS = 1_000


class _Refused(Exception):
    """A rule of the bounded reader was broken; the message names the rule and the place."""


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(unknown place)"


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases, refuses recursion and deep nesting, and refuses duplicate
    keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._open_anchors: list[str] = []  # anchors of the collections being composed right now
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"{_at(event.start_mark)}: more than {MAX_ALIASES} aliases (*name): "
                               "refused to keep alias bombs out")
            if event.anchor in self._open_anchors:
                raise _Refused(f"{_at(event.start_mark)}: alias *{event.anchor} is used inside its own "
                               f"anchor &{event.anchor} (recursive structures are not allowed)")
            return super().compose_node(parent, index)
        if not isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"{_at(event.start_mark)}: nested deeper than {MAX_DEPTH} levels")
        anchor = event.anchor
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.pop()

    def fetch_flow_collection_start(self, token_class: Any) -> None:  # type: ignore[override]
        # The scanner's simple-key bookkeeping is quadratic in flow depth ("[" * 5000 takes
        # seconds before any node exists), so the depth limit is enforced here already.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(f"{_at(self.get_mark())}: nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(token_class)

    def construct_yaml_int(self, node: ScalarNode) -> int:  # type: ignore[override]
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _Refused(f"{_at(node.start_mark)}: a number with {digits} digits (at most {MAX_INT_DIGITS})")
        return super().construct_yaml_int(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: the constructor reports it
                    continue
                if first is not None:
                    raise _Refused(f"{_at(key_node.start_mark)}: duplicate key {key!r} "
                                   f"(first at {_at(first.start_mark)})")
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _expanded_size(root: Node) -> int:
    """How many nodes a walk over the data would visit with every alias expanded; stops counting
    past the limit. Linear in the composed graph (shared nodes are counted once, times uses)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # iterative post-order: no recursion limit on deep documents
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if done:
            total = 1
            if isinstance(node, SequenceNode):
                total += sum(sizes[id(child)] for child in node.value)
            elif isinstance(node, MappingNode):
                total += sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
            continue
        stack.append((node, True))
        if isinstance(node, SequenceNode):
            stack.extend((child, False) for child in node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack.extend(((k, False), (v, False)))
    return sizes[id(root)]


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document under the limits above; ConfigError (exit 2) naming `source` and
    the rule otherwise."""
    if len(text) > MAX_BYTES:
        raise ConfigError(source, [f"(top level): document is {len(text)} characters, over the "
                                   f"{MAX_BYTES // (1024 * 1024)} MiB limit"])
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # the reader checks characters already here
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise _Refused(f"(top level): more than {MAX_EXPANDED_NODES} values once aliases are expanded "
                           "(an alias bomb?); refused")
        return loader.construct_document(node)
    except _Refused as exc:
        raise ConfigError(source, [str(exc)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"{where}YAML syntax error: {problem}"]) from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:  # odd YAML (huge ints)
        raise ConfigError(source, [f"(top level): cannot read YAML: {type(exc).__name__}: {exc}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text_bounded(path: str | os.PathLike[str], *, limit: int = MAX_BYTES) -> str:
    """A regular file's text, at most `limit` bytes. FIFOs, devices and directories are refused
    without blocking (opened non-blocking, checked with fstat before any read)."""
    name = str(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(name, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(name, [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket"
                    if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise ConfigError(name, [f"(file): is {kind}; only regular files are read"])
        if st.st_size > limit:
            raise ConfigError(name, [f"(file): {st.st_size} bytes, over the {limit // (1024 * 1024)} MiB limit"])
        chunks: list[bytes] = []
        total = 0
        while True:  # the size can change under us: never read past the limit
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ConfigError(name, [f"(file): over the {limit // (1024 * 1024)} MiB limit"])
    except OSError as exc:
        raise ConfigError(name, [f"cannot read: {exc.strerror or exc}"]) from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(name, [f"cannot read: not UTF-8 text (byte {exc.start})"]) from None


def load_yaml_file(path: str | os.PathLike[str]) -> Any:
    return load_yaml(read_text_bounded(path), str(path))
