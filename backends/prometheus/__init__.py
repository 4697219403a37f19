"""Prometheus, read back: instant and range queries over its HTTP API (history for sparklines
longer than the session, and the plans' "monitoring works" check)."""
