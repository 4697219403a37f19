"""Key-to-frame latency over SSH through the real OpenSSH client, before and after an Escape.

`cockpit serve-ssh` runs as a child process; `ssh -tt` runs in a pseudo-terminal (see
benchmarks/openssh_session.py). A round: `?` opens help (timed until the help title is drawn),
then the help closes again. Before Escape it closes with `q`; after, with Escape itself, so every
round after the first Escape exercises the parser's escape timeout. Prints p50/p95 in ms.
    .venv/bin/python -m benchmarks.ssh_keys [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.openssh_session import OpenSshSession

TIMEOUT_S = 30.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def first_output(session: OpenSshSession) -> float | None:
    import time

    start = time.monotonic()
    while time.monotonic() - start < TIMEOUT_S:
        if session.read_some(TIMEOUT_S):
            return time.monotonic() - start
    return None


def rounds(session: OpenSshSession, count: int, close_key: str) -> tuple[list[float], list[float]]:
    opened, closed = [], []
    for _ in range(count):
        session.send("?")
        took = session.wait_for("AI-HOW Cockpit: keys", TIMEOUT_S)
        if took is None:
            raise SystemExit("help never opened: keys are stuck")
        opened.append(took)
        session.drain(0.15)
        session.send(close_key)
        took = first_output(session)
        if took is None:
            raise SystemExit(f"{close_key!r} never closed help")
        closed.append(took)
        session.drain(0.15)
    return opened, closed


def report(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"{label:<56} p50 {statistics.median(ms):6.0f} ms   p95 {percentile(ms, 0.95):6.0f} ms   "
            f"max {max(ms):6.0f} ms   (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args()
    with OpenSshSession(args.columns, args.rows) as session:
        if session.wait_for("SLURM queue", 60) is None:
            raise SystemExit("the first frame never arrived")
        session.drain(0.5)
        before_open, before_close = rounds(session, args.rounds, "q")
        session.send("\x1b")  # one lone Escape on the dashboard
        session.drain(0.5)
        after_open, after_close = rounds(session, args.rounds, "\x1b")
    print(f"OpenSSH client -> cockpit serve-ssh, {args.columns}x{args.rows}, {args.rounds} rounds each")
    print(report("before Escape: ? -> help drawn", before_open))
    print(report("before Escape: q -> first bytes", before_close))
    print(report("after Escape:  ? -> help drawn", after_open))
    print(report("after Escape:  Esc -> first bytes (incl. 100 ms delay)", after_close))


if __name__ == "__main__":
    main()
