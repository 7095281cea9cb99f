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
   RLIMIT_NPROC counts every process of a uid on the machine, so a slot's uid is leased for the life of the
   sandbox (a lock file held open, released by the kernel even after ``kill -9``) and only where no process
   runs as it: two codebabel runs on one machine never share a uid, and a JVM in one cannot fail to start
   its threads because of the other's programs.
3. **prlimit**: rlimits on CPU seconds, address space, processes, file size, open files; no core dumps.
4. **The host side** (this file): a wall-clock deadline kills the whole process group; stdout and stderr are
   read through pipes and capped — past the cap the program is killed (``output_exceeded``).

Python programs can skip the interpreter start-up: ``execute/warm.py`` keeps one interpreter per worker slot
inside the same sandbox and forks a child per program behind fences 1–4 (same namespaces and mounts, the
slot's uid, the same rlimits, the same deadline and output cap).

Without ``bwrap`` the sandbox refuses to run unless the caller opts into ``unsafe=True`` (then only the
rlimits, the private working directory and the deadline apply).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codebabel.errors import CodebabelError

#: The unprivileged uids leased to sandbox slots when codebabel runs as root: [base, base + count).
SANDBOX_UID_BASE = 61000
SANDBOX_UID_COUNT = 1000
#: where the uid leases live (root-owned: only root runs programs under other uids)
_LEASE_DIR = Path("/run/lock/codebabel-uids") if os.path.isdir("/run/lock") else Path("/tmp/codebabel-uids")

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
        self._uids: dict[int, int] = {}
        self._leases: list[int] = []  # open lock files, one per leased uid; closed when the sandbox goes
        self._lease_lock = threading.Lock()  # worker threads ask for their slot's uid concurrently
        sweep_dead_owners()  # folders left by runs that were killed (kill -9 runs no cleanup)
        if self._bwrap is not None:
            self.self_test()

    #: bwrap paths whose self-test passed in this process
    _tested: typing.ClassVar[set[str]] = set()

    def self_test(self) -> None:
        """Run a trivial program in the sandbox before any real one, once per process and bwrap: where the
        sandbox cannot start (user namespaces blocked, as in Docker or under Ubuntu 24.04's AppArmor rule), every
        program would fail and score 0 %; refuse instead, with one line naming the cause and the fix."""
        if self._bwrap in Sandbox._tested:
            return
        with self.open() as box:
            r = box.run(["/bin/sh", "-c", "echo codebabel-sandbox-ok"], Limits(timeout_s=30))
        if r.returncode == 0 and "codebabel-sandbox-ok" in r.stdout:
            Sandbox._tested.add(self._bwrap)
            return
        cause = next((ln.strip() for ln in (r.stderr + r.stdout).splitlines() if ln.strip()),
                     f"exit status {r.returncode}, no output")
        raise CodebabelError(
            f"sandbox self-test failed: a trivial program could not run under {self._bwrap} ({cause}); where user "
            "namespaces are blocked allow them (sysctl kernel.unprivileged_userns_clone=1, "
            "kernel.apparmor_restrict_unprivileged_userns=0, or docker run --privileged / a seccomp profile "
            "allowing clone), or pass --unsafe-no-sandbox to run generated code unconfined at your own risk")

    def __del__(self) -> None:
        for fd in getattr(self, "_leases", ()):
            os.close(fd)

    def uid(self, slot: int) -> int:
        """The unprivileged uid of ``slot`` (as root): leased on first use, held while this sandbox lives."""
        with self._lease_lock:
            if slot not in self._uids:
                self._uids[slot] = self._lease_uid()
            return self._uids[slot]

    def _lease_uid(self) -> int:
        _LEASE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        busy = _uids_with_processes()
        for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UID_COUNT):
            if uid in busy or uid in self._uids.values():
                continue
            fd = os.open(_LEASE_DIR / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another sandbox (this process or another) holds it
                os.close(fd)
                continue
            self._leases.append(fd)
            return uid
        raise CodebabelError(
            f"all {SANDBOX_UID_COUNT} sandbox uids ({SANDBOX_UID_BASE}-{SANDBOX_UID_BASE + SANDBOX_UID_COUNT - 1}) "
            f"are in use by other runs or their processes: wait for those runs, or kill the processes of those uids")

    def open(self, slot: int = 0) -> SandboxDir:
        """A private working directory (becomes ``/tmp`` inside); use as a context manager."""
        return SandboxDir(self, slot)

    # -- the command line ---------------------------------------------------------------------------------
    @property
    def can_warm(self) -> bool:
        """Whether warm servers (execute/warm.py) can run: they need bwrap and root to switch uids."""
        return self._bwrap is not None and self._as_root

    def _argv(self, workdir: Path, command: Sequence[str], limits: Limits, slot: int,
              ro_paths: Sequence[str], drop_privileges: bool = True, extra_args: Sequence[str] = ()) -> list[str]:
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
        argv += [*extra_args, "--"]
        if not drop_privileges:  # the warm server: trusted, drops privileges itself in each child
            return argv + list(command)
        if self._as_root:  # drop root: an unprivileged uid per slot, no capabilities
            uid = str(self.uid(slot))
            argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                     "--inh-caps=-all", "--bounding-set=-all", "--"]
        return argv + rlimits + list(command)


def _uids_with_processes() -> set[int]:
    """The sandbox-range uids that own a process on this machine now (leftovers count against RLIMIT_NPROC)."""
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
            except FileNotFoundError:
                continue
            if SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + SANDBOX_UID_COUNT:
                uids.add(uid)
    return uids


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
        self.path = private_tempdir("sbx-")
        if sandbox._as_root and sandbox._bwrap is not None:
            uid = sandbox.uid(slot)
            os.chown(self.path, uid, uid)

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
            stdin: bytes | None = None, env: dict[str, str] | None = None) -> ExecResult:
        """``env``: variables added to the sandbox's fixed environment (e.g. a toolchain's cache dir)."""
        argv = self.sandbox._argv(self.path, command, limits, self.slot, ro_paths)
        return _run_capped(argv, self.path, limits, stdin, {**_ENV, **(env or {})})


# -- temporary folders -------------------------------------------------------------------------------------
# Every sandbox and warm-server folder lives under one per-user root, ``$TMPDIR/codebabel-<uid>/``, in the
# folder of the process that made it: ``owner-XXXX/`` beside ``owner-XXXX.lock``, a file that process holds
# locked (flock) as long as it lives. Normal exits and exceptions remove the folders (context managers,
# ``close``, and an atexit hook for the owner folder); kill -9 runs nothing, but the kernel releases the lock,
# so the next sandbox or warm server (``sweep_dead_owners``) finds the lock free and removes what was left.
_OWNER_PREFIX = "owner-"
_owner: tuple[int, Path, int] | None = None  # (pid, folder, locked fd) of this process's owner folder
_owner_lock = threading.Lock()


def temp_root() -> Path:
    """``$TMPDIR/codebabel-<uid>/`` (mode 0700), refused in one line if someone else owns that path."""
    root = Path(tempfile.gettempdir()) / f"codebabel-{os.geteuid()}"
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise CodebabelError(f"{root}: not a folder of this user (uid {os.geteuid()}); remove it, or set TMPDIR "
                             "to another folder")
    return root


def _owner_dir() -> Path:
    """This process's folder under :func:`temp_root`, made (with its held lock) on first use; a forked child
    makes its own."""
    global _owner
    with _owner_lock:
        if _owner is not None and _owner[0] == os.getpid() and _owner[1].is_dir():
            return _owner[1]
        root = temp_root()
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".new-", suffix=".lock")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file no one else has opened: never blocks
        name = _OWNER_PREFIX + Path(tmp).name[len(".new-"):-len(".lock")]
        os.rename(tmp, root / f"{name}.lock")  # locked before a sweep can see it
        folder = root / name
        folder.mkdir(mode=0o700)
        if _owner is None:
            atexit.register(_remove_owner_dir)
        _owner = (os.getpid(), folder, fd)
        return folder


def _remove_owner_dir() -> None:
    """At exit: this process's owner folder and its lock (not a parent's, in a forked child)."""
    global _owner
    if _owner is None or _owner[0] != os.getpid():
        return
    _, folder, fd = _owner
    _owner = None
    shutil.rmtree(folder, ignore_errors=True)
    Path(f"{folder}.lock").unlink(missing_ok=True)
    os.close(fd)


def private_tempdir(prefix: str) -> Path:
    """A new empty folder (mode 0700) in this process's owner folder, e.g. a sandbox's ``/tmp``."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_owner_dir()))


def sweep_dead_owners() -> int:
    """Remove the owner folders under :func:`temp_root` whose process is gone (their lock is free); returns how
    many. Live owners (this process included: flock locks are per open file) are never touched."""
    root = temp_root()
    removed = 0
    for lock in sorted(root.glob(f"{_OWNER_PREFIX}*.lock")):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:  # removed meanwhile by its owner or another sweep
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process lives
            os.close(fd)
            continue
        try:
            shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    now = time.time()
    for entry in root.iterdir():
        try:
            if entry.name.startswith(_OWNER_PREFIX) and entry.is_dir() and not Path(f"{entry}.lock").exists():
                shutil.rmtree(entry, ignore_errors=True)  # a sweep or an exit cut short between its two steps
                removed += 1
            elif entry.name.startswith(".new-") and now - entry.lstat().st_mtime > 60:
                entry.unlink(missing_ok=True)  # a process killed while making its lock
        except OSError:
            continue
    return removed


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


def _run_capped(argv: list[str], cwd: Path, limits: Limits, stdin: bytes | None,
                env: dict[str, str] | None = None) -> ExecResult:
    """Start ``argv`` in its own process group; read its output up to the cap; kill it at the deadline."""
    start = time.monotonic()
    deadline = start + limits.timeout_s
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env or _ENV, start_new_session=True,
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
        stdout=out["stdout"].decode("utf-8", "replace"),
        stderr=out["stderr"].decode("utf-8", "replace"),
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
