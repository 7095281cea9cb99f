"""The sandbox's command line: fences 1-3 of ``execute/sandbox.py`` as one argv.

``bwrap`` (namespaces, a fresh root with ``/usr`` and ``/etc`` read-only, secrets masked, the extra read-only
paths a language asks for, one private writable ``/tmp``), then ``setpriv`` to the slot's unprivileged uid
(as root), then ``prlimit`` (CPU seconds, address space, processes, file size, open files, no core dumps).
The uids are leased here too (:class:`UidLeases`): RLIMIT_NPROC counts every process of a uid on the machine,
so a slot's uid is held for the life of the sandbox (a lock file held open, released by the kernel even after
``kill -9``) and only where no process runs as it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.execute.process import Limits

#: The unprivileged uids leased to sandbox slots when codebabel runs as root: [base, base + count).
SANDBOX_UID_BASE = 61000
SANDBOX_UID_COUNT = 1000
#: where the uid leases live (root-owned: only root runs programs under other uids)
_LEASE_DIR = Path("/run/lock/codebabel-uids") if os.path.isdir("/run/lock") else Path("/tmp/codebabel-uids")

_MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")


class UidLeases:
    """The unprivileged uid of each worker slot of one sandbox: leased on first use, held until :meth:`close`."""

    def __init__(self) -> None:
        self._uids: dict[int, int] = {}
        self._fds: list[int] = []  # open lock files, one per leased uid; closed when the sandbox goes
        self._lock = threading.Lock()  # worker threads ask for their slot's uid concurrently

    def uid(self, slot: int) -> int:
        with self._lock:
            if slot not in self._uids:
                self._uids[slot] = self._lease()
            return self._uids[slot]

    def _lease(self) -> int:
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
            self._fds.append(fd)
            return uid
        raise CodebabelError(
            f"all {SANDBOX_UID_COUNT} sandbox uids ({SANDBOX_UID_BASE}-{SANDBOX_UID_BASE + SANDBOX_UID_COUNT - 1}) "
            f"are in use by other runs or their processes: wait for those runs, or kill the processes of those uids")

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


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


def command_line(bwrap: str | None, workdir: Path, command: Sequence[str], limits: Limits,
                 ro_paths: Sequence[str], *, uid: int | None, user_namespace: bool, drop_privileges: bool = True,
                 extra_args: Sequence[str] = ()) -> list[str]:
    """``command`` confined: ``workdir`` as ``/tmp``; run as ``uid`` where given (root drops to it), in a user
    namespace of its own where ``user_namespace`` (unprivileged bwrap). ``bwrap`` None (unsafe mode): rlimits
    only. ``drop_privileges=False`` (the warm server: trusted, drops privileges itself in each child): bwrap
    only, ``extra_args`` added to its options."""
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
    if bwrap is None:  # unsafe mode: rlimits and a private cwd only
        return [*rlimits, *command]
    argv = [
        bwrap,
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
    for path in dict.fromkeys(ro_paths):
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
    if user_namespace:  # unprivileged bwrap always runs in a user namespace of its own
        argv += ["--unshare-user"]
    argv += [*extra_args, "--"]
    if not drop_privileges:
        return argv + list(command)
    if uid is not None:  # drop root: an unprivileged uid per slot, no capabilities
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
