"""The `cockpit.libvirt` settings of the vms (libvirt) source (validated with the rest of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cockpit.source_types import Settings


class LibvirtHost(Settings):
    name: str = Field(min_length=1)
    uri: str = Field(min_length=1)


class LibvirtSettings(Settings):
    hosts: list[LibvirtHost] = Field(default_factory=list)
    # Where `cluster.up` puts qcow2 overlays: a libvirt storage pool (created as a directory
    # pool at pool_path when it does not exist yet).
    storage_pool: str = Field(default="cockpit", min_length=1)
    pool_path: str = "/var/lib/libvirt/images/cockpit"
    # Domain type for new VMs: auto = 'test' on the test driver, 'kvm' when /dev/kvm exists on a
    # local host (remote hosts: kvm), else 'qemu' (TCG).
    domain_type: Literal["auto", "kvm", "qemu", "test"] = "auto"
