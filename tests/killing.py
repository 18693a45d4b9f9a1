"""SIGKILL a `xinstruct` command at a chosen point, deterministically.

Why: a test that polls for progress and kills "when enough is done" races the child: on a fast machine
(or a slow parent) the child finishes first and the test fails or checks nothing. Here the child runs
the CLI under a monkeypatch (inside the child only; nothing in xinstruct knows about it): after the
N-th call of a chosen function returns, it writes `paused` into a signal directory and waits for a
`go` file that never comes, so it can never finish before the parent kills it. Each call is also logged
(its second positional argument: the arm for `build_mixture`, the model for `RequestCache.put_many`),
so that an uninterrupted run under the same wrapper tells where the stages' calls begin and end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import importlib, sys, time
from pathlib import Path

signals, target, after = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
module_name, _, attribute = target.partition(":")
owner = importlib.import_module(module_name)
*path, name = attribute.split(".")
for part in path:
    owner = getattr(owner, part)
original, calls = getattr(owner, name), [0]

def paused(*args, **kwargs):
    result = original(*args, **kwargs)
    calls[0] += 1
    with open(signals / "calls", "a") as log:
        print(args[1] if len(args) > 1 else "", file=log)
    if calls[0] == after:  # done and committed: tell the parent, then wait for a `go` that never comes
        (signals / "paused").write_text(str(calls[0]))
        while not (signals / "go").exists():
            time.sleep(0.01)
    return result

setattr(owner, name, paused)
from xinstruct.cli import app
sys.argv = ["xinstruct", *sys.argv[4:]]
app()
"""


def run_until_paused(
    signals: Path, target: str, after: int, args: list[str], log: Path, timeout: float = 300
) -> subprocess.Popen:
    """Start `xinstruct ARGS` in a subprocess that pauses once `target` ("module:Class.method" or
    "module:function") has returned `after` times; return it once it is paused (AssertionError with its
    log if it ends or times out first)."""
    signals.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        command = [sys.executable, "-c", CHILD, str(signals), target, str(after), *args]
        proc = subprocess.Popen(command, stdout=out, stderr=out, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while not (signals / "paused").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the child did not pause (exit {proc.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    return proc


def run_logging_calls(signals: Path, target: str, args: list[str], log: Path) -> list[str]:
    """Run `xinstruct ARGS` to the end under the same wrapper, never pausing; return the logged calls."""
    signals.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        command = [sys.executable, "-c", CHILD, str(signals), target, "0", *args]
        result = subprocess.run(command, stdout=out, stderr=out, cwd=ROOT)
    assert result.returncode == 0, log.read_text()[-3000:]
    calls = signals / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def sigkill(proc: subprocess.Popen) -> None:
    """SIGKILL a paused child and reap it; it must die by the signal (it cannot have finished)."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.returncode
