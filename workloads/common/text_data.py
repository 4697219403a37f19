"""Text for the LM fine-tune, without downloads.

--text FILE reads a .txt, or a .jsonl with a "text" field (or Oumi/chat "messages"). Without it the
corpus is the English data-set descriptions that ship inside scikit-learn (about 40 kB).
"""

from __future__ import annotations

import json
from pathlib import Path

from workloads.common.device import WorkloadError


def bundled_corpus() -> tuple[str, str]:
    import sklearn.datasets

    descr = Path(sklearn.datasets.__file__).parent / "descr"
    files = sorted(descr.glob("*.rst"))
    if not files:
        raise WorkloadError(f"no bundled text found under {descr}; pass --text FILE")
    return "\n\n".join(f.read_text(encoding="utf-8") for f in files), f"sklearn:{descr}"


def read_text_file(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"--text {path}: no such file")
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".jsonl":
        return raw
    parts = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"--text {path}: line {n}: invalid JSON ({exc.msg})") from None
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            parts.append(row["text"])
        elif isinstance(row, dict) and isinstance(row.get("messages"), list):
            parts.append("\n".join(str(m.get("content", "")) for m in row["messages"] if isinstance(m, dict)))
        else:
            raise WorkloadError(f'--text {path}: line {n}: expected an object with "text" or "messages"')
    return "\n\n".join(parts)


def load_corpus(path: str | None) -> tuple[str, str]:
    if path:
        text = read_text_file(Path(path))
        source = str(path)
    else:
        text, source = bundled_corpus()
    if len(text) < 1000:
        raise WorkloadError(f"--text {source}: only {len(text)} characters; need at least 1000")
    return text, source
