"""libvirt adapter: connections per host URI, domains, stats and lifecycle. No UI code."""
