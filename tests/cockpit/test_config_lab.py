"""A running `cockpit lab` fills in SLURM for the default and user configs, never for an explicit one."""

from __future__ import annotations

from cockpit.config import lab_config_file, load_config


def write_lab(conf: str = "/tmp/lab/etc/slurm.conf") -> None:
    path = lab_config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"cockpit:\n  slurm:\n    transport: cli\n    conf: {conf}\n")


def test_lab_fills_slurm_into_the_embedded_default():
    assert load_config().config.cockpit.slurm is None
    write_lab()
    loaded = load_config()
    assert loaded.config.cockpit.slurm.conf == "/tmp/lab/etc/slurm.conf"
    assert loaded.lab_path == lab_config_file()
    assert loaded.config.cockpit.libvirt.hosts  # the rest of the default stays


def test_explicit_config_and_configured_slurm_win(tmp_path):
    write_lab()
    mine = tmp_path / "mine.yaml"
    mine.write_text("metadata: {name: mine}\n")
    assert load_config(mine).config.cockpit.slurm is None
    user = lab_config_file().parent / "config.yaml"
    user.write_text("cockpit:\n  slurm: {transport: rest, rest_url: 'http://ctl:6820'}\n")
    assert load_config().config.cockpit.slurm.transport == "rest"


def test_a_broken_lab_file_is_a_warning_not_a_failure():
    lab_config_file().parent.mkdir(parents=True, exist_ok=True)
    lab_config_file().write_text("cockpit: {slurm: {transport: carrier-pigeon}}\n")
    loaded = load_config()
    assert loaded.config.cockpit.slurm is None
    assert any("ignored, invalid" in w and "transport" in w for w in loaded.warnings)


def test_slurm_environment_wins_over_a_running_lab(monkeypatch):
    write_lab()
    monkeypatch.setenv("SLURM_CONF", "/etc/slurm/mine.conf")
    loaded = load_config()
    assert loaded.config.cockpit.slurm is None and loaded.lab_path is None
