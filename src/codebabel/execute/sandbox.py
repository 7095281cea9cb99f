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
4. **The host side** (``execute/process.py``): a wall-clock deadline kills the whole process group; stdout and stderr are
   read through pipes and capped — past the cap the program is killed (``output_exceeded``).

Python programs can skip the interpreter start-up: ``execute/warm.py`` keeps one interpreter per worker slot
inside the same sandbox and forks a child per program behind fences 1–4 (same namespaces and mounts, the
slot's uid, the same rlimits, the same deadline and output cap).

Fences 1-3 are one command line (``execute/bwrap.py``, with the uid leases); the folders live in this
process's owner folder (``execute/tempdirs.py``).

Without ``bwrap`` the sandbox refuses to run unless the caller opts into ``unsafe=True`` (then only the
rlimits, the private working directory and the deadline apply).
"""

from __future__ import annotations

import os
import shutil
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.execute.bwrap import UidLeases, command_line
from codebabel.execute.process import ENV, ExecResult, Limits, run_capped
from codebabel.execute.tempdirs import private_tempdir, sweep_dead_owners

__all__ = ["ExecResult", "Limits", "Sandbox", "SandboxDir", "bwrap_path", "sweep_dead_owners"]


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
        self._leases = UidLeases()  # closed when the sandbox goes
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
        leases = getattr(self, "_leases", None)
        if leases is not None:
            leases.close()

    def uid(self, slot: int) -> int:
        """The unprivileged uid of ``slot`` (as root): leased on first use, held while this sandbox lives."""
        return self._leases.uid(slot)

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
        drop_to = self._bwrap is not None and self._as_root and drop_privileges
        return command_line(self._bwrap, workdir, command, limits, (*self.extra_ro_paths, *ro_paths),
                            uid=self.uid(slot) if drop_to else None, user_namespace=not self._as_root,
                            drop_privileges=drop_privileges, extra_args=extra_args)


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
        return run_capped(argv, self.path, limits, stdin, {**ENV, **(env or {})})
