"""oumi_config: writes the Oumi TrainingConfig YAML; validation says honestly what it checked."""

from __future__ import annotations

import importlib.util
import json

import yaml

from workloads.oumi_config import validate_file


def test_writes_a_config_and_says_what_validated_it(tmp_path, run_wl):
    model = tmp_path / "SmolLM-135M"
    model.mkdir()
    (model / "config.json").write_text("{}")
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n")
    out = tmp_path / "cfg" / "smollm.yaml"
    proc = run_wl("oumi_config", ["--model-dir", str(model), "--dataset", str(data), "--out", str(out),
                                  "--max-steps", "50"])
    result = json.loads(proc.stdout)
    config = yaml.safe_load(out.read_text())
    assert config["model"]["model_name"] == str(model)
    assert config["data"]["train"]["datasets"] == [{"dataset_name": "text_sft_jsonl", "dataset_path": str(data)}]
    assert config["training"]["trainer_type"] == "TRL_SFT" and config["training"]["max_steps"] == 50
    assert result["command"] == f"oumi train -c {out}"
    oumi_here = importlib.util.find_spec("oumi") is not None
    assert result["validated_by"] == ("oumi" if oumi_here else "structure")
    assert proc.returncode == (1 if result["problems"] else 0)
    if not oumi_here:
        assert result["problems"] == [] and "not installed" in result["note"]


def test_missing_paths_write_nothing(tmp_path, run_wl):
    out = tmp_path / "x.yaml"
    proc = run_wl("oumi_config", ["--model-dir", str(tmp_path / "no-model"), "--dataset", str(tmp_path / "no.jsonl"),
                                  "--out", str(out)])
    assert proc.returncode == 2 and not out.exists()
    assert "dataset_path" in proc.stderr and "config.json" in proc.stderr


def test_validate_reports_missing_sections(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"model_name": "x"}, "training": {"output_dir": "o"}}))
    problems = validate_file(cfg, check_paths=False)["problems"]
    assert "data -> train -> datasets: missing" in problems
    assert "training -> trainer_type: missing" in problems
