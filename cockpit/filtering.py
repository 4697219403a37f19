"""One filter grammar for every table (typed after `/`). Terms are separated by spaces; all must hold.

    gpu                 free text: a case-insensitive regex over the row's text fields
    state:R,PD          field:value, a comma means "or" (`=` works as `:`)
    name~^train-        field~regex
    gpus>0  time>=1:00:00  size<10GiB  start>2026-11-29
                        comparisons > < >= <= on numbers, durations, sizes and times
    !user:root          `!` negates any term
    "name:my job"       quotes keep spaces inside one term

Each source declares its fields (`Field`: name, aliases, how to read the value and what kind it
is); a table without a declaration gets one field per column. Mistakes raise FilterError with a
message that names the bad term and says what would work. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from cockpit.values import parse_duration, parse_number, parse_size, parse_time


class FilterError(ValueError):
    """A filter that cannot work; the message names the term and what would work instead."""


# How `:` and the comparisons read a field's value:
#   text      `:` is a substring, comparisons refused
#   exact     `:` is equality (case-insensitive), comparisons refused
#   number    `:` and comparisons on numbers
#   duration  seconds; typed as 90s, 2h, 1:00:00, 1-01:00:00
#   size      bytes; typed as 512, 10K, 1.5GiB
#   time      datetimes; typed as ISO 8601
#   auto      `:` is a substring of the text; comparisons take whatever the typed value parses as
KINDS = ("text", "exact", "number", "duration", "size", "time", "auto")
_PARSERS: dict[str, Callable[[str], Any]] = {"number": parse_number, "duration": parse_duration,
                                             "size": parse_size, "time": parse_time}


@dataclass(frozen=True)
class Field:
    name: str
    get: Callable[[Any], Any]
    kind: str = "text"
    aliases: tuple[str, ...] = ()
    text: Callable[[Any], str] | None = None  # how the value reads for free text, `~` and text `:`
    normalize: Callable[[str], str] | None = None  # a typed value to what `get` returns (state codes)
    free_text: bool = True  # searched by terms without a field
    choices: tuple[str, ...] = ()  # for `exact`: the only values that can exist (an unknown one is an error)

    def value(self, item: Any) -> Any:
        try:
            return self.get(item)
        except (AttributeError, KeyError, TypeError, IndexError):
            return None

    def read(self, item: Any) -> str:
        if self.text is not None:
            try:
                return self.text(item)
            except (AttributeError, KeyError, TypeError, IndexError):
                return ""
        value = self.value(item)
        if value is None:
            return ""
        if isinstance(value, (list, tuple, set)):
            return ",".join(str(v) for v in value)
        return str(value)


@dataclass(frozen=True)
class Fields:
    """The filterable fields of one table; `dynamic` resolves names like `metric.loss`."""

    fields: tuple[Field, ...]
    dynamic: Callable[[str], Field | None] | None = None
    dynamic_help: str = ""
    rewrite: Callable[[str], str] | None = None  # a source's older spellings of a term -> the grammar's
    _index: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            for name in (f.name, *f.aliases):
                self._index.setdefault(name.lower(), f)

    def resolve(self, name: str, term: str) -> Field:
        found = self._index.get(name.lower())
        if found is None and self.dynamic is not None:
            found = self.dynamic(name)
        if found is None:
            known = ", ".join(f.name + (f" ({'/'.join(f.aliases)})" if f.aliases else "") for f in self.fields)
            extra = f"; {self.dynamic_help}" if self.dynamic_help else ""
            raise FilterError(f"'{term}': unknown field '{name}' (known: {known}{extra})")
        return found

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass(frozen=True)
class Term:
    source: str  # the term as typed
    field: Field | None  # None: free text
    op: str  # "text" (free text), ":", "~", ">", "<", ">=", "<="
    values: tuple[Any, ...]  # parsed: strings for ":", compiled regex for "~" and free text, numbers etc. otherwise
    negate: bool
    raw: tuple[str, ...] = ()  # the values as typed (for server-side translation)

    def test(self, item: Any, fields: Fields) -> bool:
        return self._hit(item, fields) != self.negate

    def _hit(self, item: Any, fields: Fields) -> bool:
        if self.field is None:
            rx = self.values[0]
            return any(rx.search(f.read(item)) for f in fields.fields if f.free_text)
        f = self.field
        if self.op == "~":
            if f.value(item) is None and f.text is None:
                return False
            return self.values[0].search(f.read(item)) is not None
        if self.op == ":":
            return any(_equals(f, item, v) for v in self.values)
        value = _comparable(f, f.value(item), self.values[0])
        if value is None:
            return False
        wanted = self.values[0]
        return bool({">": value > wanted, "<": value < wanted, ">=": value >= wanted, "<=": value <= wanted}[self.op])


def _equals(f: Field, item: Any, wanted: Any) -> bool:
    if f.kind in ("text", "auto"):
        text = f.read(item).casefold()
        return wanted == "" and text == "" or (wanted != "" and wanted in text)
    if f.kind == "exact":
        value = f.value(item)
        if isinstance(value, (list, tuple, set)):
            return any(str(v).casefold() == wanted for v in value) or (wanted == "" and not value)
        return bool(("" if value is None else str(value)).casefold() == wanted)
    value = _comparable(f, f.value(item), wanted)
    return value is not None and bool(value == wanted)


def _comparable(f: Field, value: Any, wanted: Any) -> Any:
    """The item's value in the same terms as the typed one (both numbers, or both datetimes)."""
    if value is None or value == "":
        return None
    if isinstance(wanted, datetime):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return None
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return len(value)
    if isinstance(value, str):
        for parse in (parse_number, parse_duration, parse_size):
            try:
                return parse(value)
            except ValueError:
                continue
    return None


_TERM = re.compile(r"^([A-Za-z_][\w.\-]*?)(>=|<=|>|<|:|=|~)(.*)$", re.S)


def _regex(pattern: str, term: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise FilterError(f"'{term}': bad regex ({exc})") from None


def _typed(f: Field, value: str, term: str) -> Any:
    kind = f.kind
    if kind in ("text", "exact"):
        raise FilterError(f"'{term}': {f.name} is text, not a number: write {f.name}:VALUE or {f.name}~REGEX")
    if kind == "auto":
        for parse in (parse_number, parse_duration, parse_size, parse_time):
            try:
                return parse(value)
            except ValueError:
                continue
        raise FilterError(f"'{term}': {value!r} is not a number, duration, size or time")
    try:
        return _PARSERS[kind](value)
    except ValueError as exc:
        raise FilterError(f"'{term}': {exc}") from None


_WORD = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*'|["'])+""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")


def split_terms(text: str) -> list[str]:
    """Words split at spaces, except inside quotes (the quotes go); backslashes stay, for regexes;
    a lone quote (it's) is just a character."""
    return [_QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), w)
            for w in _WORD.findall(text)]


def parse_term(word: str, fields: Fields) -> Term:
    negate = word.startswith("!")
    body = word[1:] if negate else word
    if not body:
        raise FilterError(f"'{word}': nothing after '!' (write !TEXT or !field:value)")
    match = _TERM.match(body)
    if match is None:
        return Term(word, None, "text", (_regex(body, word),), negate, (body,))
    name, op, value = match.groups()
    f = fields.resolve(name, word)
    if op == "=":
        op = ":"
    if op == "~":
        return Term(word, f, "~", (_regex(value, word),), negate, (value,))
    if op == ":":
        raw = tuple(value.split(",")) if value else ("",)
        if f.kind in ("text", "exact", "auto"):
            wanted = tuple((f.normalize(v) if f.normalize and v else v).casefold() for v in raw)
            if f.choices:
                allowed = {c.casefold() for c in f.choices}
                for v, w in zip(raw, wanted):
                    if w and w not in allowed:
                        raise FilterError(f"'{word}': unknown {f.name} {v!r} (known: {', '.join(f.choices)})")
            return Term(word, f, ":", wanted, negate, raw)
        return Term(word, f, ":", tuple(_typed(f, v, word) for v in raw if v), negate, raw)
    if not value:
        raise FilterError(f"'{word}': nothing after '{op}' (write {f.name}{op}VALUE)")
    return Term(word, f, op, (_typed(f, value, word),), negate, (value,))


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Term, ...]
    fields: Fields

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, item: Any) -> bool:
        return all(t.test(item, self.fields) for t in self.terms)

    def filter(self, items: Iterable[Any]) -> list[Any]:
        return [i for i in items if self.matches(i)] if self.terms else list(items)


def compile_filter(text: str, fields: Fields) -> Query:
    """Parse a filter for one table; raises FilterError naming the first bad term. The fields'
    `rewrite` first turns a source's older spellings into the grammar's (MLflow's `tag:K=V`)."""
    words = split_terms(text)
    if fields.rewrite is not None:
        words = [fields.rewrite(w) for w in words]
    return Query(text.strip(), tuple(parse_term(w, fields) for w in words), fields)


# -- fields for tables that declare none -----------------------------------------------------------
def slug(title: str) -> str:
    """A column title as a field name: 'MEM MiB' -> mem_mib, 'NODELIST(REASON)' -> nodelist_reason."""
    return re.sub(r"[^0-9a-z]+", "_", title.lower()).strip("_") or "value"


def _column_value(col: Any) -> Callable[[Any], Any]:
    """What comparisons on a column see: the value it sorts by when that is a plain value (a GPU's
    utilisation behind its bar), else the value it shows (not a composite sort key)."""
    sort = getattr(col, "sort", None)

    def get(item: Any) -> Any:
        if sort is not None:
            try:
                value = sort(item)
            except (AttributeError, KeyError, TypeError):
                value = None
            if not isinstance(value, tuple):
                return value
        return col.get(item)

    return get


def fields_from_columns(columns: Sequence[Any]) -> Fields:
    """One `auto` field per column: its value for comparisons, its rendered cell for text."""
    return Fields(tuple(Field(slug(col.title), _column_value(col), "auto", text=col.cell) for col in columns))

