"""The one filter grammar (cockpit/filtering.py): terms, operators, negation, fields and errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cockpit.filtering import Field, FilterError, Fields, compile_filter, fields_from_columns, split_terms

ROWS = [
    {"name": "train-a", "state": "RUNNING", "gpus": 4, "elapsed": 5400, "mem": 2 * 2**30, "tags": ("x", "y"),
     "at": datetime(2026, 11, 29, 10, tzinfo=timezone.utc)},
    {"name": "eval b", "state": "PENDING", "gpus": 0, "elapsed": 30, "mem": 512, "tags": (),
     "at": datetime(2026, 11, 28, tzinfo=timezone.utc)},
    {"name": "train-c", "state": "FAILED", "gpus": 1, "elapsed": None, "mem": None, "tags": ("y",), "at": None},
]
FIELDS = Fields((
    Field("name", lambda r: r["name"], "text", aliases=("n",)),
    Field("state", lambda r: r["state"], "exact", normalize=lambda v: {"R": "RUNNING", "PD": "PENDING"}.get(v.upper(), v)),
    Field("gpus", lambda r: r["gpus"], "number", free_text=False),
    Field("elapsed", lambda r: r["elapsed"], "duration", free_text=False),
    Field("mem", lambda r: r["mem"], "size", free_text=False),
    Field("tags", lambda r: r["tags"], "exact", free_text=False),
    Field("at", lambda r: r["at"], "time", free_text=False),
))


def names(text: str) -> list[str]:
    return [r["name"] for r in compile_filter(text, FIELDS).filter(ROWS)]


@pytest.mark.parametrize("text, expected", [
    ("", ["train-a", "eval b", "train-c"]),
    ("train", ["train-a", "train-c"]),               # free text
    ("^TRAIN-[ac]$", ["train-a", "train-c"]),        # free text is a case-insensitive regex
    ("!train", ["eval b"]),
    ("state:R,PD", ["train-a", "eval b"]),            # comma = or, codes normalised
    ("state=failed", ["train-c"]),                    # `=` is `:`
    ("n:val", ["eval b"]),                            # alias, substring on text
    ("name~-[ab]$", ["train-a"]),
    ("gpus>0", ["train-a", "train-c"]),
    ("gpus>=1 gpus<4", ["train-c"]),
    ("!gpus>0", ["eval b"]),
    ("gpus:0,1", ["eval b", "train-c"]),
    ("elapsed>1:00:00", ["train-a"]),                 # missing values never compare
    ("elapsed<1m", ["eval b"]),
    ("mem>1GiB", ["train-a"]),
    ("tags:y", ["train-a", "train-c"]),
    ("tags:", ["eval b"]),                            # empty value: the field is empty
    ("at>2026-11-29", ["train-a"]),
    ('"name:eval b"', ["eval b"]),                    # quotes keep a space inside one term
])
def test_grammar(text, expected) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text, message", [
    ("colour:red", r"'colour:red': unknown field 'colour' \(known: name \(n\), state, gpus"),
    ("name~(", r"'name~\(': bad regex"),
    ("(", r"'\(': bad regex"),
    ("!", "nothing after '!'"),
    ("gpus>lots", "'gpus>lots': 'lots' is not a number"),
    ("elapsed>soon", "'elapsed>soon': 'soon' is not a duration"),
    ("mem>big", "is not a size"),
    ("at>yesterday", "is not a time"),
    ("name>3", "name is text, not a number: write name:VALUE or name~REGEX"),
    ("gpus>", "nothing after '>'"),
])
def test_errors_name_the_term(text, message) -> None:
    with pytest.raises(FilterError, match=message):
        compile_filter(text, FIELDS)


def test_choices_refuse_values_that_cannot_exist() -> None:
    fields = Fields((Field("status", lambda r: r, "exact", choices=("OK", "BAD")),))
    with pytest.raises(FilterError, match="unknown status 'meh' \\(known: OK, BAD\\)"):
        compile_filter("status:meh", fields)


def test_tables_without_fields_get_one_per_column() -> None:
    class Col:
        def __init__(self, title, get):
            self.title, self.get, self.sort = title, get, None

        def cell(self, item):
            return str(self.get(item))

    fields = fields_from_columns([Col("MEM MiB", lambda r: r["m"]), Col("NODELIST(REASON)", lambda r: r["n"])])
    assert fields.names == ["mem_mib", "nodelist_reason"]
    rows = [{"m": 512, "n": "node1"}, {"m": 4096, "n": "node2"}]
    assert compile_filter("mem_mib>1000", fields).filter(rows) == [rows[1]]
    assert compile_filter("nodelist_reason:node1", fields).filter(rows) == [rows[0]]
    assert compile_filter("mem_mib>1GiB", fields).filter(rows) == []  # sizes parse where numbers fail


def test_split_keeps_backslashes_for_regexes() -> None:
    assert split_terms(r'a node~n\[1-2\] "b c"') == ["a", r"node~n\[1-2\]", "b c"]
