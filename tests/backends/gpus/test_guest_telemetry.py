"""Telemetry of passed-through GPUs from inside the guest: nvidia-smi CSV (the real H100 output
format recorded in tests/fixtures/nvml-h100) over a real SSH connection to an asyncssh server playing
the guest, attributed to the HOST PCI address."""

from __future__ import annotations

import asyncssh
import pytest

from backends.gpus.guest import GuestGpus, GuestTelemetry, attribute, parse_query_csv
from backends.ssh.pool import SshPool

# The guest sshd fixture lives on the session loop: the async tests run there too.
ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


def test_parse_recorded_csv(h100_fixtures) -> None:
    rows = parse_query_csv((h100_fixtures / "nvidia-smi-query.csv").read_text())
    assert rows == [{"index": "0", "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-e5a7e4d7-196d-18b9-ef40-06b8db3a739b",
                     "utilization.gpu": "0 %", "memory.used": "0 MiB", "memory.total": "81559 MiB",
                     "temperature.gpu": "30", "power.draw": "69.98 W"}]


def test_noheader_nounits_and_missing_values() -> None:
    rows = parse_query_csv("0, 00000000:06:00.0, NVIDIA A100, GPU-x, 37, 1024, 40960, [N/A], [Not Supported]\n")
    assert rows[0]["pci.bus_id"] == "00000000:06:00.0" and rows[0]["temperature.gpu"] is None
    reading = attribute(rows, GuestGpus("vm", "10.0.0.5", (("0000:41:00.0", "0000:06:00.0"),)))["0000:41:00.0"]
    assert (reading.utilization_pct, reading.memory_used_mib, reading.temperature_c, reading.power_w) == (37, 1024, None, None)


def test_attribution_by_guest_address_then_order() -> None:
    csv = ("index, pci.bus_id, name, uuid, utilization.gpu [%], memory.used [MiB], memory.total [MiB], "
           "temperature.gpu, power.draw [W]\n"
           "0, 00000000:05:00.0, A, GPU-a, 10 %, 1 MiB, 10 MiB, 30, 50.0 W\n"
           "1, 00000000:06:00.0, B, GPU-b, 90 %, 9 MiB, 10 MiB, 70, 300.0 W\n")
    guest = GuestGpus("vm", "h", (("0000:81:00.0", "0000:06:00.0"), ("0000:41:00.0", None)))
    out = attribute(parse_query_csv(csv), guest)
    assert out["0000:81:00.0"].uuid == "GPU-b"  # mapped through the guest-side address
    assert out["0000:41:00.0"].uuid == "GPU-a"  # the remaining row, in order
    assert out["0000:81:00.0"].source == "guest-nvidia-smi" and out["0000:81:00.0"].vm == "vm"


@pytest.fixture
async def guest_sshd(h100_fixtures):
    """An SSH server standing in for the guest: `nvidia-smi` answers with the recorded CSV."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    csv = (h100_fixtures / "nvidia-smi-query.csv").read_text()
    commands = []

    async def handle(process: asyncssh.SSHServerProcess) -> None:
        commands.append(process.command)
        if (process.command or "").startswith("nvidia-smi --query-gpu="):
            process.stdout.write(csv)
            process.exit(0)
        else:
            process.stderr.write("command not found\n")
            process.exit(127)

    server = await asyncssh.create_server(
        asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(client_key.export_public_key().decode()),
        process_factory=handle)
    port = server.sockets[0].getsockname()[1]
    yield port, client_key, commands
    server.close()
    await server.wait_closed()


@ON_SESSION_LOOP
async def test_over_ssh_to_the_guest(guest_sshd, tmp_path) -> None:
    port, client_key, commands = guest_sshd
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(client_key.export_private_key())
    telemetry = GuestTelemetry(SshPool(), user="cockpit", port=port, insecure_no_host_check=True,
                               client_keys=(str(key_file),), min_interval=60)
    guest = GuestGpus("hpc-compute-01", "127.0.0.1", (("0000:41:00.0", None),))
    try:
        readings = await telemetry.read([guest])
        r = readings["0000:41:00.0"]
        assert (r.name, r.memory_total_mib, r.temperature_c, r.power_w) == ("NVIDIA H100 80GB HBM3", 81559, 30, 70.0)
        assert telemetry.errors == {}
        await telemetry.read([guest])
        assert len(commands) == 1  # cached for min_interval: no second SSH round trip
    finally:
        await telemetry.pool.close()


@ON_SESSION_LOOP
async def test_unreachable_guest_is_an_error_entry(tmp_path) -> None:
    telemetry = GuestTelemetry(SshPool(connect_timeout=1), port=1, insecure_no_host_check=True, timeout=2)
    readings = await telemetry.read([GuestGpus("down-vm", "127.0.0.1", (("0000:41:00.0", None),))])
    assert readings == {} and "down-vm" in telemetry.errors["down-vm"]
    await telemetry.pool.close()
