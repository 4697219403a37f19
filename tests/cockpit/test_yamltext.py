"""The one bounded YAML reader (config, plans, kubeconfigs): hostile documents are refused fast,
with bounded memory, naming the file and the rule."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc

import pytest

from cockpit.errors import ConfigError
from cockpit.yamltext import MAX_BYTES, load_yaml, load_yaml_file, read_text_bounded


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a: &a [" + ",".join(['"lol"'] * width) + "]"]
    prev = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, "hostile.yaml")
    assert info.value.source == "hostile.yaml"
    return info.value


def test_alias_bomb_is_refused_fast_with_bounded_memory():
    text = alias_bomb()
    assert len(text) < 400  # the 342-byte shape
    tracemalloc.start()
    started = time.perf_counter()
    err = refused(text)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "aliases are expanded" in err.problems[0]
    assert elapsed < 2.0 and peak < 20 * 1024 * 1024, (elapsed, peak)


def test_many_aliases_are_refused_even_when_each_is_small():
    text = "a: &a 1\nb: [" + ",".join(["*a"] * 5000) + "]\n"
    assert "aliases" in refused(text).problems[0]


def test_modest_aliases_stay_shared_and_allowed():
    data = load_yaml("base: &b {cpus: 4, memory_gb: 8}\nnodes: [*b, *b]\n", "ok.yaml")
    assert data["nodes"][0] is data["nodes"][1] is data["base"]


@pytest.mark.parametrize("text", ["global: &a {self: *a}", "x: &a [1, [2, *a]]"])
def test_recursive_anchor_is_refused_naming_the_alias(text):
    err = refused(text)
    assert "recursive" in err.problems[0] and "*a" in err.problems[0] and "line 1" in err.problems[0]


def test_duplicate_keys_name_both_lines():
    err = refused("cockpit:\n  theme: a\nclusters: {}\ncockpit: {}\n")
    assert err.problems == ["line 4, column 1: duplicate key 'cockpit' (first at line 1, column 1)"]
    nested = refused("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert "line 4" in nested.problems[0] and "first at line 2" in nested.problems[0]


def test_merge_keys_may_be_overridden():
    data = load_yaml("base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  x: 3\n", "ok.yaml")
    assert data["thing"] == {"x": 3, "y": 2}


def test_deep_flow_nesting_is_refused_fast():
    started = time.perf_counter()
    err = refused("[" * 50_000)
    assert time.perf_counter() - started < 2.0
    assert "nest" in err.problems[0]  # ours ("nested deeper") or libyaml's ("maximum nesting depth")


def test_huge_integer_names_the_place():
    err = refused("slurm:\n  port: " + "9" * 5000 + "\n")
    assert "line 2" in err.problems[0] and "5000 digits" in err.problems[0]


def test_text_over_the_size_limit_is_refused():
    err = refused("#" * (MAX_BYTES + 1))
    assert "MiB limit" in err.problems[0]


def test_big_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(55 * 1024 * 1024)  # sparse: the size alone must refuse it
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_yaml_file(path)
    assert time.perf_counter() - started < 1.0
    assert info.value.source == str(path) and "MiB limit" in info.value.problems[0]


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(outcome, fifo), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], ConfigError) and "FIFO" in outcome[0].problems[0]


def _capture(out: list[BaseException], path) -> None:
    try:
        read_text_bounded(path)
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        out.append(exc)


@pytest.mark.parametrize("path,kind", [("/dev/zero", "device"), ("/", "directory")])
def test_non_regular_files_are_refused(path, kind):
    with pytest.raises(ConfigError) as info:
        read_text_bounded(path)
    assert kind in info.value.problems[0]


def test_non_utf8_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_file(path)
    assert "UTF-8" in info.value.problems[0]


def test_a_big_document_without_aliases_is_not_mistaken_for_a_bomb():
    text = "global:\n" + "".join(f"  k{i}: v\n" for i in range(150_000))  # 300,000 values, ~2 MiB
    assert len(load_yaml(text, "big.yaml")["global"]) == 150_000
