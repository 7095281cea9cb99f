"""One command on the host side of the sandbox (fence 4 of ``execute/sandbox.py``): what it may use
(:class:`Limits`), what happened to it (:class:`ExecResult`), and :func:`run_capped` — its own process group,
stdout and stderr read through pipes and capped (past the cap the program is killed: ``output_exceeded``), and
a wall-clock deadline that kills the whole group.

Standard library only: the warm server (``execute/warm.py``) imports :func:`drain` inside the sandbox.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: the whole environment of a sandboxed command (a language adds its own variables, e.g. a cache folder)
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one command. Memory is address space (RLIMIT_AS)."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 64
    max_open_files: int = 256
    max_output_kb: int = 1024

    @property
    def cpu_s(self) -> int:
        # CPU seconds across all threads: a little more than the wall limit, so a busy loop is usually
        # stopped by the deadline (reported as timeout) and a multi-threaded spinner by SIGXCPU.
        return int(self.timeout_s) + 1


@dataclass
class ExecResult:
    """What happened to one command. ``returncode`` < 0 means killed by that signal (as in subprocess)."""

    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    output_exceeded: bool = False

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None


def drain(fds: dict[str, int], deadline: float, cap: int, stop=None) -> tuple[dict[str, bytes], bool, bool]:
    """Read pipes until EOF, the deadline, or more than ``cap`` bytes on one of them.

    Returns (bytes per name, timed_out, exceeded). ``stop()`` is polled while the pipes are quiet: when it
    says the program is over (a daemon may still hold the pipes), reading ends early. Standard library only:
    the warm server (execute/warm.py) uses it inside the sandbox too.
    """
    chunks: dict[str, list[bytes]] = {name: [] for name in fds}
    sizes = dict.fromkeys(fds, 0)
    timed_out = exceeded = False
    with selectors.DefaultSelector() as sel:
        for name, fd in fds.items():
            sel.register(fd, selectors.EVENT_READ, name)
        while sel.get_map() and not exceeded:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            events = sel.select(timeout=min(remaining, 0.05 if stop else 0.5))
            if not events and stop is not None and stop():
                break
            for key, _ in events:
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    continue
                name = key.data
                if sizes[name] + len(data) > cap:
                    chunks[name].append(data[: cap - sizes[name]])
                    sizes[name] = cap
                    exceeded = True
                    break
                chunks[name].append(data)
                sizes[name] += len(data)
    return {name: b"".join(c) for name, c in chunks.items()}, timed_out, exceeded


def run_capped(argv: list[str], cwd: Path, limits: Limits, stdin: bytes | None,
               env: dict[str, str] | None = None) -> ExecResult:
    """Start ``argv`` in its own process group; read its output up to the cap; kill it at the deadline."""
    start = time.monotonic()
    deadline = start + limits.timeout_s
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env or ENV, start_new_session=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    out, timed_out, exceeded = drain({"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()},
                                     deadline, limits.max_output_kb * 1024)
    if timed_out or exceeded:
        kill_group(proc)
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # pipes closed but the process lingers (e.g. closed its stdout)
        timed_out = True
        kill_group(proc)
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return ExecResult(
        returncode=proc.returncode,
        stdout=out["stdout"].decode("utf-8", "replace"),
        stderr=out["stderr"].decode("utf-8", "replace"),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        output_exceeded=exceeded,
    )


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group. bwrap's pid namespace then takes every process that setsid()'d away."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
