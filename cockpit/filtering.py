"""Row filters typed after `/`: plain text or a regex over the whole row, `field=value` or
`field~regex` on one column, several terms all required, and a leading `!` inverts a term.

    /running            rows mentioning 'running'
    /state=RUNNING !user=root
    /name~^train-       regex on one column

Pure functions, used by the screen for sources without a filter language of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping


@dataclass(frozen=True)
class Term:
    field: str | None
    pattern: re.Pattern[str]
    exact: str | None
    invert: bool

    def matches(self, row: Mapping[str, str]) -> bool:
        if self.field is None:
            hit = any(self.pattern.search(v) for v in row.values())
        else:
            value = next((v for k, v in row.items() if k.lower() == self.field), None)
            if value is None:
                hit = False
            elif self.exact is not None:
                hit = value.lower() == self.exact
            else:
                hit = bool(self.pattern.search(value))
        return hit != self.invert


class FilterError(ValueError):
    pass


def parse_filter(text: str) -> list[Term]:
    terms = []
    for raw in text.split():
        invert = raw.startswith("!")
        body = raw[1:] if invert else raw
        if not body:
            continue
        field = exact = None
        pattern_text = body
        m = re.match(r"^([A-Za-z_][\w %.-]*?)(=|~)(.*)$", body)
        if m:
            field = m.group(1).lower()
            if m.group(2) == "=":
                exact = m.group(3).lower()
                pattern_text = re.escape(m.group(3))
            else:
                pattern_text = m.group(3)
        try:
            pattern = re.compile(pattern_text, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"bad regex {pattern_text!r}: {exc}") from None
        terms.append(Term(field=field, pattern=pattern, exact=exact, invert=invert))
    return terms


def make_predicate(text: str) -> Callable[[Mapping[str, str]], bool]:
    terms = parse_filter(text)
    return lambda row: all(t.matches(row) for t in terms)
