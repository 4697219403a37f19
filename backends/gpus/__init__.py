"""GPU inventory: libvirt node devices, sysfs and NVML. No UI code."""
