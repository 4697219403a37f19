"""Read the tables BeeGFS 8's `beegfs` tool prints in its default (table) output.

ThinkParQ/beegfs-go ctl/internal/cmdfmt/fmt.go renders them with go-pretty and a style of spaces
only: no borders, no separators, every cell left-aligned and followed by two spaces of padding,
the header (the column names, upper-cased) on the first line of every page, pages separated by an
empty line. A cell holding several lines (the `nics` and `reachable` columns of `node list`) is
spread over several printed lines whose other cells are blank. A column therefore starts where
its header word starts, which is how rows are cut here.
"""

from __future__ import annotations

import re
from typing import Iterable

# Two or more spaces separate header words; a single space belongs to the name ("ON NODE").
_HEADER_WORD = re.compile(r"\S+(?: \S+)*")


def column_key(name: str) -> str:
    """Header or JSON key -> the key the parsers use: 'On Node', 'ON_NODE', 'on node' -> 'on_node'."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _header_columns(line: str) -> list[tuple[int, str]]:
    return [(m.start(), column_key(m.group(0))) for m in _HEADER_WORD.finditer(line)]


def _is_header(line: str, known: set[str]) -> bool:
    """Upper-case names, the first one a known column, most of them known: a column a newer
    release adds does not hide the header (its cells are kept under their own key)."""
    cols = _header_columns(line)
    if not cols or line != line.upper() or cols[0][1] not in known:
        return False
    return 2 * sum(name in known for _, name in cols) > len(cols)


def parse_table(lines: Iterable[str], known_columns: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a go-pretty table as {column key: cell text}; a multi-line cell keeps its lines
    joined by newlines. `known_columns` (keys as column_key() makes them) tells a header line
    from a data line; a table whose first line is not a header raises ValueError (the tool omits
    the header only with --page-size 0, which the cockpit never passes)."""
    known = {column_key(c) for c in known_columns}
    rows: list[dict[str, str]] = []
    columns: list[tuple[int, str]] | None = None
    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if not line.strip():
            continue
        if _is_header(line, known):
            columns = _header_columns(line)
            continue
        if columns is None:
            raise ValueError(f"table row before any header line: {line.strip()[:120]!r}")
        cells: dict[str, str] = {}
        for i, (start, name) in enumerate(columns):
            end = columns[i + 1][0] if i + 1 < len(columns) else None
            cells[name] = line[start:end].strip() if start < len(line) else ""
        first = columns[0][1]
        if rows and not cells[first] and any(cells.values()):
            # continuation line of multi-line cells
            for name, value in cells.items():
                if value:
                    rows[-1][name] = f"{rows[-1][name]}\n{value}" if rows[-1][name] else value
            continue
        rows.append(cells)
    return rows
