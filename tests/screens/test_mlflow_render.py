"""The MLflow pane's cells and the braille chart (pure rendering, no server)."""

from __future__ import annotations

import math

from backends.mlflow.models import RegisteredModelItem, ModelVersionItem, RunItem
from screens.mlflow_chart import braille_chart, sparkline
from screens.render.mlflow import COLUMNS, columns, detail, model_rows


def item(**kw) -> RunItem:
    base = dict(run_id="a" * 32, experiment="e", experiment_id="1", name="r", status="FINISHED", duration_s=125.0,
                metrics={"loss": 0.123456}, tags={"slurm_job_id": "7"})
    return RunItem(**{**base, **kw})


def test_chosen_metric_columns_and_a_missing_metric() -> None:
    cols = columns(["loss", "accuracy", "f1"])
    titles = [c.title for c in cols]
    assert titles[-4:] == ["LOSS", "ACCURACY", "F1", "LINKS"]
    cells = [c.cell(item()) for c in cols]
    assert cells[titles.index("LOSS")] == "0.1235"
    assert cells[titles.index("ACCURACY")] == "-" and cells[titles.index("F1")] == "-"
    assert cells[titles.index("DURATION")] == "2m05s"
    assert cells[titles.index("LINKS")] == "SLURM job 7"
    assert [c.title for c in COLUMNS][-3:-1] == ["LOSS", "ACCURACY"]


def test_columns_read_snapshot_json_dicts() -> None:
    row = item().model_dump(mode="json")
    assert [c.cell(row) for c in COLUMNS][0] == "aaaaaaaa"


def test_detail_text() -> None:
    text = detail(item(params={"lr": "0.1"}))
    assert "→ SLURM job 7" in text and "lr = 0.1" in text and "loss = 0.123456" in text


def test_model_rows() -> None:
    m = RegisteredModelItem(name="m", aliases={"champion": "1"},
                            latest_versions=(ModelVersionItem(version="2", run_id="b" * 32, status="READY"),))
    assert model_rows([m]) == [("m", "2", "READY", "@champion→v1", "bbbbbbbb")]
    assert model_rows([RegisteredModelItem(name="empty")]) == [("empty", "-", "-", "-", "-")]


def test_braille_chart_draws_a_falling_curve() -> None:
    text = braille_chart({"loss": [(s, 1 / (s + 1)) for s in range(50)]}, width=40, height=6).plain
    lines = text.splitlines()
    assert lines[0].lstrip().startswith("1 ┤") and lines[5].startswith("0.02 ┤")
    plot = [line.split("┤", 1)[1] for line in lines[:6]]
    assert plot[0][0] != " " and plot[5][-1] != " "  # starts high on the left, ends low on the right
    assert plot[0][-1] == " " and "loss (last 0.02, 50 points)" in text


def test_braille_chart_edge_cases() -> None:
    assert braille_chart({"x": []}).plain == "(no points logged)"
    assert braille_chart({"x": [(0, math.nan)]}).plain == "(no points logged)"
    flat = braille_chart({"x": [(0, 1.0), (1, 1.0)]}, width=10, height=3).plain
    assert "⠀" not in flat and "x (last 1" in flat
    big = braille_chart({"noise": [(s, math.sin(s)) for s in range(20000)]}, width=50, height=5).plain
    assert len(big.splitlines()) == 8
    log = braille_chart({"l": [(0, 100.0), (1, 1.0)]}, width=10, height=3, log_y=True).plain
    assert log.splitlines()[0].lstrip().startswith("100 ┤")


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([]) == ""


def test_pane_filter_takes_the_runs_grammar_and_its_older_spellings() -> None:
    from backends.mlflow.models import RunItem
    from cockpit.filtering import compile_filter
    from screens.render import mlflow as render

    runs = [RunItem(run_id="a" * 32, experiment="mnist", experiment_id="1", name="r1", status="FAILED",
                    tags={"slurm_job_id": "42"}, metrics={"loss": 0.05}),
            RunItem(run_id="b" * 32, experiment="cifar", experiment_id="2", name="r2", status="FINISHED")]
    for text in ("exp~^mn", "tag:slurm_job_id=42", "metric:loss<0.1", "metric.loss<0.1", "status:failed"):
        assert [r.name for r in compile_filter(text, render.FILTER_FIELDS).filter(runs)] == ["r1"], text
