"""Every fixture lives in the repository: a fresh clone with nothing beside it runs every test.
(The recorded H100 and apiserver readings once lived in ../shared and were skipped without it.)"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
OUTSIDE = re.compile(r"""\.\./shared\b|/work/shared\b|parent\s*/\s*["']shared["']""")


def test_no_test_reads_a_folder_beside_the_repository():
    offenders = [f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
                 for path in sorted(TESTS.rglob("*.py")) if path != Path(__file__).resolve()
                 for number, line in enumerate(path.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert offenders == []


def test_moved_fixtures_are_here_with_their_provenance():
    for name, sample in (("nvml-h100", "nvml_h100.json"), ("kube-apiserver", "watch_rv_too_old.json")):
        folder = TESTS / "fixtures" / name
        assert (folder / sample).is_file(), folder
        assert "Copied unchanged" in (folder / "README.md").read_text(), folder
