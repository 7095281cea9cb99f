"""Run untrusted programs. Every execution of generated code in codebabel goes through this module.

A program runs inside several independent fences; any one of them stops most mistakes, together they stop
the hostile programs in tests/test_sandbox.py:

1. **bubblewrap** (``bwrap``): new pid, network, ipc, uts and cgroup namespaces — no network (only a private
   loopback), no view of host processes, and when the sandbox's pid 1 goes, every process in it goes too
   (a detached daemon cannot outlive the program). The filesystem is a fresh root with ``/usr`` and
   ``/etc`` read-only (password/shadow files masked), the extra read-only paths a language asks for (e.g.
   the interpreter's prefix), and one private writable ``/tmp``. ``/root``, ``/home`` and the project are
   simply not there.
2. **setpriv** (when codebabel runs as root): the program runs as an unprivileged uid of its own (one per
   worker slot, so a fork bomb in one slot cannot starve another), with no capabilities and no_new_privs.
3. **prlimit**: rlimits on CPU seconds, address space, processes, file size, open files; no core dumps.
4. **The host side** (this file): a wall-clock deadline kills the whole process group; stdout and stderr are
   read through pipes and capped — past the cap the program is killed (``output_exceeded``).

Without ``bwrap`` the sandbox refuses to run unless the caller opts into ``unsafe=True`` (then only the
rlimits, the private working directory and the deadline apply).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codebabel.errors import CodebabelError

#: Base of the unprivileged uids used for sandboxed programs when codebabel runs as root (uid = base + slot).
SANDBOX_UID_BASE = 61000

_MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
_ENV = {
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


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@dataclass
class Sandbox:
    """Factory for sandboxed working directories. Thread-safe: each :meth:`open` is independent."""

    unsafe: bool = False
    extra_ro_paths: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self._bwrap = bwrap_path()
        if self._bwrap is None and not self.unsafe:
            raise CodebabelError(
                "bubblewrap (bwrap) is not installed, so generated code cannot be run safely: "
                "install it (apt-get install bubblewrap, or run scripts/setup.sh), or pass --unsafe-no-sandbox "
                "to run generated code unconfined at your own risk"
            )
        self._as_root = os.geteuid() == 0

    def open(self, slot: int = 0) -> SandboxDir:
        """A private working directory (becomes ``/tmp`` inside); use as a context manager."""
        return SandboxDir(self, slot)

    # -- the command line ---------------------------------------------------------------------------------
    def _argv(self, workdir: Path, command: Sequence[str], limits: Limits, slot: int,
              ro_paths: Sequence[str]) -> list[str]:
        rlimits = [
            "prlimit",
            f"--cpu={limits.cpu_s}",
            f"--as={limits.memory_mb * 2**20}",
            f"--nproc={limits.max_processes}",
            f"--fsize={limits.max_file_mb * 2**20}",
            f"--nofile={limits.max_open_files}",
            "--core=0",
            "--",
        ]
        if self._bwrap is None:  # unsafe mode: rlimits and a private cwd only
            return [*rlimits, *command]
        argv = [
            self._bwrap,
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent",  # if codebabel dies, the sandbox dies
            "--new-session",      # no TIOCSTI into our terminal
            "--ro-bind", "/usr", "/usr",
            "--ro-bind", "/etc", "/etc",
        ]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / top
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), str(host)]
        for masked in _MASKED_FILES:
            if os.path.exists(masked):
                argv += ["--ro-bind", "/dev/null", masked]
        for path in dict.fromkeys((*self.extra_ro_paths, *ro_paths)):
            if Path(path).parts[1:2] in (("usr",), ("etc",)):
                continue  # already visible
            argv += _mkdirs_0755(Path(path).parent)
            argv += ["--ro-bind", str(path), str(path)]
        argv += [
            "--proc", "/proc",
            "--dev", "/dev",
            "--bind", str(workdir), "/tmp",
            "--chdir", "/tmp",
        ]
        if not self._as_root:  # unprivileged bwrap always runs in a user namespace of its own
            argv += ["--unshare-user"]
        argv.append("--")
        if self._as_root:  # drop root: an unprivileged uid per slot, no capabilities
            uid = str(SANDBOX_UID_BASE + slot)
            argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                     "--inh-caps=-all", "--bounding-set=-all", "--"]
        return argv + rlimits + list(command)


def _mkdirs_0755(parent: Path) -> list[str]:
    """bwrap creates missing parents of a bind target mode 0700; create them world-traversable instead."""
    args: list[str] = []
    for p in reversed(parent.parents[:-1] if parent != Path("/") else ()):
        args += ["--perms", "0755", "--dir", str(p)]
    if parent != Path("/"):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


class SandboxDir:
    """One program's private directory: write files into it, run commands in it, then it is deleted."""

    def __init__(self, sandbox: Sandbox, slot: int):
        self.sandbox = sandbox
        self.slot = slot
        self.path = Path(tempfile.mkdtemp(prefix="codebabel-sbx-"))
        if sandbox._as_root and sandbox._bwrap is not None:
            os.chown(self.path, SANDBOX_UID_BASE + slot, SANDBOX_UID_BASE + slot)

    def __enter__(self) -> SandboxDir:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
            os.chmod(target, 0o644)

    def run(self, command: Sequence[str], limits: Limits = Limits(), ro_paths: Sequence[str] = (),
            stdin: bytes | None = None) -> ExecResult:
        argv = self.sandbox._argv(self.path, command, limits, self.slot, ro_paths)
        return _run_capped(argv, self.path, limits, stdin)


def _run_capped(argv: list[str], cwd: Path, limits: Limits, stdin: bytes | None) -> ExecResult:
    """Start ``argv`` in its own process group; read its output up to the cap; kill it at the deadline."""
    cap = limits.max_output_kb * 1024
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=_ENV, start_new_session=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    sizes = {"stdout": 0, "stderr": 0}
    timed_out = exceeded = False
    deadline = start + limits.timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
        sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                name = key.data
                if sizes[name] + len(data) > cap:
                    chunks[name].append(data[: cap - sizes[name]])
                    sizes[name] = cap
                    exceeded = True
                    break
                chunks[name].append(data)
                sizes[name] += len(data)
            if exceeded:
                break
    if timed_out or exceeded:
        _kill_group(proc)
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # pipes closed but the process lingers (e.g. closed its stdout)
        timed_out = True
        _kill_group(proc)
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return ExecResult(
        returncode=proc.returncode,
        stdout=b"".join(chunks["stdout"]).decode("utf-8", "replace"),
        stderr=b"".join(chunks["stderr"]).decode("utf-8", "replace"),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        output_exceeded=exceeded,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group. bwrap's pid namespace then takes every process that setsid()'d away."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
