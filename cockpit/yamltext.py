# mypy: disable-error-code="misc,attr-defined,no-any-return"
# (the hooks below are a mixin over PyYAML's untyped loader classes)
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
EXACT_ERRORS_MAX = 256 * 1024  # re-read a smaller broken document with the pure-Python scanner


class _Refused(Exception):
    """A rule of the bounded reader was broken; the message names the rule and the place."""


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(unknown place)"


class _Bounded:
    """Composer/constructor hooks: count aliases, refuse recursion and deep nesting, refuse
    duplicate keys. Mixed into a loader below."""

    _aliases = 0
    _depth = 0

    def _bounded_init(self) -> None:
        self._aliases = 0
        self._open_anchors: list[str] = []  # anchors of the collections being composed right now
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
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

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # (pure-Python scanner only) its simple-key bookkeeping is quadratic in flow depth
        # ("[" * 5000 takes seconds before any node exists): the depth limit applies here already.
        # libyaml stops at its own nesting limit.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(f"{_at(self.get_mark())}: nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(token_class)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _Refused(f"{_at(node.start_mark)}: a number with {digits} digits (at most {MAX_INT_DIGITS})")
        return super().construct_yaml_int(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
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


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    class _BoundedLoader(_Bounded, Composer, CParser, SafeConstructor, Resolver):
        """libyaml scans and parses (about five times faster than pure Python); the composer
        stays in Python so the hooks above see every node."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._bounded_init()



class _PureBoundedLoader(_Bounded, yaml.SafeLoader):
    """Pure-Python scanner: slower, but it places syntax errors where the mistake is (libyaml
    points at the end of the stream for an unclosed bracket). Used for error messages of
    documents up to EXACT_ERRORS_MAX, and when PyYAML has no libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._bounded_init()


if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover
    _BoundedLoader = _PureBoundedLoader


for _cls in {_BoundedLoader, _PureBoundedLoader}:
    _cls.add_constructor("tag:yaml.org,2002:int", _cls.construct_yaml_int)


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
    try:
        return _load(_BoundedLoader, text)
    except _Refused as exc:
        raise ConfigError(source, [str(exc)]) from None
    except yaml.YAMLError as exc:
        error = exc
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:  # odd YAML
        raise ConfigError(source, [f"(top level): cannot read YAML: {type(exc).__name__}: {exc}"]) from None
    if _BoundedLoader is not _PureBoundedLoader and len(text) <= EXACT_ERRORS_MAX:
        try:
            _load(_PureBoundedLoader, text)
        except yaml.YAMLError as exc:
            error = exc
        except (_Refused, ValueError, TypeError, RecursionError, MemoryError):
            pass
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    raise ConfigError(source, [f"{where}YAML syntax error: {problem}"]) from None


def _load(loader_class: type, text: str) -> Any:
    """One parse; YAMLError passes through, the other refusals become ConfigError-ready text."""
    loader = None
    try:
        loader = loader_class(text)  # the reader checks characters already here
        node = loader.get_single_node()
        if node is None:
            return None
        # Only aliases can make the expanded size outgrow the text (bounded by MAX_BYTES).
        size = _expanded_size(node) if loader._aliases else 0
        if size > MAX_EXPANDED_NODES:
            raise _Refused(f"(top level): more than {MAX_EXPANDED_NODES} values once aliases are expanded "
                           "(an alias bomb?); refused")
        return loader.construct_document(node)
    finally:
        if loader is not None and hasattr(loader, "dispose"):
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
