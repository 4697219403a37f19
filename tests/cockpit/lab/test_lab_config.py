"""The cockpit config `cockpit lab up` writes: a host lab reads with the local CLI, a chroot lab
over SSH (with the lab's own key and known_hosts), and both offer slurmrestd one edit away."""

from __future__ import annotations

import pytest

from backends.slurm.source import build_source
from backends.slurm.transport import CliTransport, LocalRunner, RestTransport, SshRunner
from cockpit.cli import build_parser
from cockpit.config import load_config
from cockpit.lab.slurm_lab import LabInfo, lab_config


def _info(tmp_path, **chroot) -> LabInfo:
    root = tmp_path / "lab"
    return LabInfo(root=str(root), conf=f"{root}/etc/slurm.conf", nodes=4, gpus=2, base=17800, accounting=True,
                   rest_url="http://127.0.0.1:17820", rest_user="slurm", jwt_file=f"{root}/etc/slurmrestd.jwt",
                   config_path=str(tmp_path / "lab.yaml"), **chroot)


def _load(info: LabInfo, tmp_path, **override):
    path = tmp_path / "lab.yaml"
    path.write_text(lab_config(info))
    loaded = load_config(path)
    if override:
        loaded.config.cockpit.slurm = loaded.config.cockpit.slurm.model_copy(update=override)
    return loaded


def test_host_lab_reads_with_the_local_cli(tmp_path):
    source = build_source(_load(_info(tmp_path), tmp_path))
    assert isinstance(source.transport, CliTransport) and isinstance(source.transport.runner, LocalRunner)
    assert source.transport.runner.conf.endswith("/lab/etc/slurm.conf") and source.tail_via is None


def test_chroot_lab_reads_over_ssh_with_its_own_key_and_known_hosts(tmp_path):
    root = tmp_path / "lab"
    info = _info(tmp_path, release="24.11", chroot="/var/tmp/x/merged", ssh_port=17822,
                 ssh_key=f"{root}/ssh/client_ed25519_key", known_hosts=f"{root}/ssh/known_hosts")
    text = lab_config(info)
    assert "Slurm 24.11 lab" in text and "transport: ssh" in text
    source = build_source(_load(info, tmp_path))
    runner = source.transport.runner
    assert isinstance(runner, SshRunner) and runner.conf == info.conf
    target = runner.target
    assert (target.host, target.port, target.user) == ("127.0.0.1", 17822, "root")
    assert target.client_keys == (info.ssh_key,) and target.known_hosts == info.known_hosts
    assert not target.insecure_no_host_check
    assert source.tail_via == (runner.pool, target)  # job logs are followed over SSH too


def test_chroot_lab_rest_is_one_edit_away_with_control_over_ssh(tmp_path):
    info = _info(tmp_path, release="26.05", chroot="/var/tmp/x/merged", ssh_port=17822,
                 ssh_key="/k", known_hosts="/kh")
    source = build_source(_load(info, tmp_path, transport="rest"))
    assert isinstance(source.transport, RestTransport) and source.transport.url == "http://127.0.0.1:17820"
    assert isinstance(source.control_transport.runner, SshRunner)


def test_lab_up_takes_a_release_and_refuses_an_unknown_one(capsys):
    parser = build_parser()
    assert parser.parse_args(["lab", "up"]).release == "22.05"
    assert parser.parse_args(["lab", "up", "--release", "26.05"]).release == "26.05"
    assert parser.parse_args(["lab", "up"]).base is None  # free ports are chosen at run time
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["lab", "up", "--release", "23.02"])
    assert exc.value.code == 2
    assert "invalid choice: '23.02'" in capsys.readouterr().err
