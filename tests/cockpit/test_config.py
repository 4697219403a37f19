"""Config loading: valid files, the upstream ai-how format, path-named errors, junk input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.config import ComputeNodeGroup, config_json_schema, expand, load_config, parse_config
from cockpit.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"
REPO = Path(__file__).resolve().parents[2]


def test_embedded_default_loads_with_demo_libvirt_and_local_mlflow(tmp_path):
    loaded = load_config()
    cockpit = loaded.config.cockpit
    assert loaded.is_default
    assert cockpit.libvirt.hosts[0].uri.startswith("test:///")
    assert cockpit.libvirt.hosts[0].uri.endswith("provisioning/demo/workstation.xml")
    assert cockpit.mlflow.tracking_uri.startswith("sqlite:///") and "cockpit/mlflow.db" in cockpit.mlflow.tracking_uri
    assert cockpit.slurm is None and cockpit.beegfs is None and cockpit.kubernetes is None


def test_upstream_sample_validates_and_keeps_its_structure(monkeypatch):
    monkeypatch.setenv("TOT", "/src/ai-how")
    loaded = load_config(FIXTURES / "upstream-multi-gpu.yaml")
    hpc, cloud = loaded.config.clusters.hpc, loaded.config.clusters.cloud
    assert hpc.name == "hpc-cluster" and len(hpc.compute_node_list()) == 2
    assert [d.pci_address for d in hpc.compute_node_list()[0].passthrough_devices()] == ["0000:01:00.0", "0000:01:00.1"]
    assert hpc.controller.virtio_fs_mounts[0].host_path == "/src/ai-how"
    assert hpc.slurm_config.default_partition == "gpu"
    gpu_worker = cloud.worker_nodes["gpu"][0]
    assert gpu_worker.auto_start is False and gpu_worker.passthrough_devices()[0].pci_address == "0000:01:00.0"
    assert loaded.warnings == []


def test_unset_variable_is_a_warning_naming_the_path(monkeypatch):
    monkeypatch.delenv("TOT", raising=False)
    loaded = load_config(FIXTURES / "upstream-multi-gpu.yaml")
    assert any(w.startswith("clusters -> hpc -> controller -> virtio_fs_mounts[0] -> host_path: ${TOT} is not set")
               for w in loaded.warnings)


def test_compute_nodes_group_form_expands_to_named_nodes():
    text = """
clusters:
  hpc:
    controller: {cpu_cores: 2, memory_gb: 4, ip_address: 10.0.0.1}
    compute_nodes: {count: 3, cpu_cores: 4, memory_gb: 8, ip: DHCP}
"""
    hpc = parse_config(text, "inline").config.clusters.hpc
    assert isinstance(hpc.compute_nodes, ComputeNodeGroup)
    assert [n.name for n in hpc.compute_node_list()] == ["compute-01", "compute-02", "compute-03"]


def test_invalid_file_names_every_problem_by_path():
    with pytest.raises(ConfigError) as err:
        load_config(FIXTURES / "broken.yaml")
    problems = err.value.problems
    assert any(p.startswith("clusters -> hpc -> compute_nodes[1] -> memory_gb: Input should be greater than or equal to 1") for p in problems), problems
    assert any(p.startswith("clusters -> hpc -> slurm_config: Value error, default_partition 'debug' is not one of partitions") for p in problems), problems
    assert any(p.startswith("cockpit -> refresh -> slurm -> interval: Input should be greater than 0") for p in problems), problems
    # The list branch of `compute_nodes` got further: no noise about the {count: N} branch.
    assert len(problems) == 3 and not any("ComputeNodeGroup" in p for p in problems), problems


@pytest.mark.parametrize("text,expected", [
    ("clusters: [1, 2]", "clusters: Input should be a valid dictionary"),
    ("cockpit:\n  libvirt:\n    hostz: []", "cockpit -> libvirt -> hostz: unknown field (check the spelling)"),
    ("clusters:\n  hpc:\n    controller: {cpu_cores: 1, memory_gb: 1}\n    network: {subnet: 10.0.0.0/33, bridge: br0}",
     "clusters -> hpc -> network -> subnet:"),
    ("a: [unclosed", "line 1, column 13: YAML syntax error"),
    ("- just\n- a list", "(top level): expected a mapping"),
])
def test_bad_input_messages(text, expected):
    with pytest.raises(ConfigError) as err:
        parse_config(text, "inline.yaml")
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_expand_defaults_nested_and_escape():
    warnings: list[str] = []
    env = {"A": "x", "EMPTY": ""}
    assert expand("${A}-${B:-dflt}-${EMPTY:-e}-$$HOME", env, "w", warnings) == "x-dflt-e-$HOME"
    assert expand("${B:-${A}/sub}", env, "w", warnings) == "x/sub"
    assert warnings == []
    assert expand("${NOPE}", env, "here", warnings) == ""
    assert warnings == ["here: ${NOPE} is not set (expanded to '')"]


def test_env_variables_replace_the_embedded_demo(monkeypatch, tmp_path):
    from backends.libvirt.source import configured_hosts
    from backends.mlflow.source import resolve_settings

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{tmp_path}/mlruns")
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    loaded = load_config()
    assert loaded.config.cockpit.mlflow is None and loaded.config.cockpit.libvirt.hosts == []
    assert resolve_settings(loaded).tracking_uri == f"file://{tmp_path}/mlruns"
    assert configured_hosts(loaded) == {"default": "test:///default"}


def test_an_explicit_config_wins_over_the_environment(monkeypatch, tmp_path):
    from backends.libvirt.source import configured_hosts

    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    mine = tmp_path / "mine.yaml"
    mine.write_text("cockpit: {libvirt: {hosts: [{name: ws, uri: 'qemu:///system'}]}}\n")
    assert configured_hosts(load_config(mine)) == {"ws": "qemu:///system"}
    monkeypatch.setenv("COCKPIT_CONFIG", str(mine))
    assert configured_hosts(load_config()) == {"ws": "qemu:///system"}
    # The embedded demo itself, named explicitly, is an explicit config too.
    demo = load_config(REPO / "provisioning" / "samples" / "default.yaml")
    assert list(configured_hosts(demo)) == ["workstation"]


def test_config_file_search_order(monkeypatch, tmp_path):
    user = tmp_path / "xdg_config_home" / "cockpit" / "config.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("metadata: {name: from-xdg}\n")
    assert load_config().config.metadata.name == "from-xdg"
    env_file = tmp_path / "env.yaml"
    env_file.write_text("metadata: {name: from-env}\n")
    monkeypatch.setenv("COCKPIT_CONFIG", str(env_file))
    assert load_config().config.metadata.name == "from-env"
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("metadata: {name: explicit}\n")
    assert load_config(explicit).config.metadata.name == "explicit"


def test_json_schema_is_valid_json_and_describes_clusters():
    schema = config_json_schema()
    assert schema["title"] == "AI-HOW Cockpit configuration"
    assert "clusters" in schema["properties"] and "cockpit" in schema["properties"]
    json.dumps(schema)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_cli_config_validate_exit_codes():
    ok = _run_cli("config", "validate", str(FIXTURES / "upstream-multi-gpu.yaml"))
    assert ok.returncode == 0, ok.stderr
    assert "valid (hpc 'hpc-cluster' with 2 compute nodes; cloud 'cloud-cluster' with 2 workers)" in ok.stdout
    bad = _run_cli("config", "validate", str(FIXTURES / "broken.yaml"))
    assert bad.returncode == 2
    assert "clusters -> hpc -> compute_nodes[1] -> memory_gb" in bad.stderr
    missing = _run_cli("config", "validate", "/nonexistent/cockpit.yaml")
    assert missing.returncode == 2 and "file not found" in missing.stderr
    schema = _run_cli("config", "schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["type"] == "object"


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
yaml_trees = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(["clusters", "hpc", "cloud", "cockpit", "controller",
                                                                "compute_nodes", "memory_gb", "libvirt", "hosts", "uri",
                                                                "refresh", "name", "count", "${X:-y}", "version"]) | st.text(max_size=8),
                                               children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=yaml_trees)
def test_junk_never_crashes_the_loader(tree):
    text = yaml.safe_dump(tree)
    try:
        parse_config(text, "junk.yaml", env={})
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_loader(text):
    try:
        parse_config(text, "junk.yaml", env={})
    except ConfigError:
        pass
