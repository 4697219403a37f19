"""Provisioning runs through ansible-runner: live per-host, per-task events for the hub."""
