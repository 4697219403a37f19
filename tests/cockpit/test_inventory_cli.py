"""`cockpit inventory`: stdout, files, formats, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import cockpit.cli as cli

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ansible"


@pytest.fixture(autouse=True)
def with_inventory_command(monkeypatch):
    if "cockpit.cli_inventory" not in cli.SUBCOMMANDS:
        monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, "cockpit.cli_inventory"))


def test_yaml_to_stdout(capsys):
    rc = cli.main(["--config", str(FIXTURES / "hpc_gpu_list.yaml"), "inventory", "--no-live"])
    out = capsys.readouterr()
    assert rc == 0
    data = yaml.safe_load(out.out)
    assert "hpc-controller" in data["all"]["children"]["hpc"]["children"]["hpc_controllers"]["hosts"]
    assert out.err == ""  # nothing but YAML on stdout; no warnings for this config


def test_ini_to_file_with_warnings_on_stderr(capsys, tmp_path):
    target = tmp_path / "inv.ini"
    rc = cli.main(["--config", str(FIXTURES / "hpc_count_cloud.yaml"), "inventory", "--format", "ini", "-o", str(target)])
    out = capsys.readouterr()
    assert rc == 0 and out.out == ""
    text = target.read_text()
    assert "[kube_control_plane]\ncloud-control-plane ansible_host=192.168.200.10" in text
    assert "[k8s_cluster:children]\nkube_control_plane\nkube_node\n" in text
    assert "warning: clusters -> hpc -> compute_nodes[0]: no address" in out.err
    assert f"wrote {target} (7 hosts, ini)" in out.err


def test_bad_config_exits_2_naming_the_path(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "hpc_gpu_list.yaml").read_text().replace("management_node: controller", "management_node: ghost"))
    target = tmp_path / "inv.yml"
    rc = cli.main(["--config", str(bad), "inventory", "--no-live", "-o", str(target)])
    assert rc == 2
    assert "clusters -> hpc -> storage -> beegfs -> management_node[0]: 'ghost' is not an HPC node" in capsys.readouterr().err
    assert not target.exists()


def test_unwritable_target_exits_1(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = cli.main(["--config", str(FIXTURES / "hpc_gpu_list.yaml"), "inventory", "--no-live", "-o", str(blocker / "inv.yml")])
    assert rc == 1 and "cannot write" in capsys.readouterr().err


def test_global_options_after_the_subcommand(capsys):
    rc = cli.main(["inventory", "--no-live", "--config", str(FIXTURES / "hpc_gpu_list.yaml")])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "hpc-controller" in yaml.safe_load(out.out)["all"]["children"]["hpc"]["children"]["hpc_controllers"]["hosts"]
