"""Warm Python: a fork server inside the sandbox, so a Python program costs a fork, not an interpreter start.

One server per worker slot runs inside the same bubblewrap sandbox as a cold run (namespaces, read-only
system, private /tmp) as the sandbox's root, with only the capabilities it needs. For each program it:

1. writes the program to a fresh directory ``/tmp/j<N>`` owned by the slot's unprivileged uid;
2. forks a child that sets the rlimits, drops to that uid (no groups, no capabilities, no_new_privs) and
   ``exec``s the program's code in the already-started interpreter (as ``python main.py`` would run it:
   ``__name__ == "__main__"``, tracebacks on stderr, exit code from ``SystemExit``);
3. reads the child's stdout/stderr with the same cap and deadline as a cold run
   (:func:`codebabel.execute.process.drain`);
4. when the child is done, kills every process left with that uid (a detached daemon does not outlive its
   program) and deletes the directory.

The child runs as another uid than the server, so it cannot signal, trace or read the server. The host side
(:class:`WarmPython`) restarts a server that stops answering. Used only when codebabel runs as root (the
server must be able to switch uids); otherwise programs run cold. This file is also the server's script:
it runs inside the sandbox with ``python -I -S -B warm.py`` and imports only the standard library and
``codebabel.execute.process`` (itself standard-library only).
"""

from __future__ import annotations

import json
import os
import sys
import time

_PKG_MOUNT = "/opt/codebabel"  # the codebabel package is bound read-only here inside the sandbox
_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL")


# ------------------------------------------------------------------------------------------------------
# host side
# ------------------------------------------------------------------------------------------------------
class WarmPython:
    """One warm server for one sandbox slot. Not thread-safe: the runner gives each slot to one thread."""

    def __init__(self, sandbox, slot: int, interpreter: str, ro_paths):
        from codebabel.execute.tempdirs import private_tempdir, sweep_dead_owners

        self.sandbox, self.slot, self.interpreter, self.ro_paths = sandbox, slot, interpreter, tuple(ro_paths)
        self.uid = sandbox.uid(slot)
        self.proc = None
        sweep_dead_owners()  # what runs killed with kill -9 left behind
        # under $TMPDIR/codebabel-<uid>/, in this process's folder: removed by close(), at exit, or by the
        # next run's sweep if this process is killed
        self.tmp = private_tempdir("warm-")
        os.chmod(self.tmp, 0o1777)  # /tmp inside: like a real /tmp; emptied after every program

    def _start(self, limits) -> None:
        import subprocess
        from pathlib import Path

        import codebabel
        from codebabel.execute.process import ENV

        pkg = str(Path(codebabel.__file__).parent)
        argv = self.sandbox._argv(
            self.tmp, [self.interpreter, "-I", "-S", "-B", f"{_PKG_MOUNT}/codebabel/execute/warm.py", str(self.uid)],
            limits, self.slot, self.ro_paths, drop_privileges=False,
            extra_args=["--ro-bind", pkg, f"{_PKG_MOUNT}/codebabel", "--cap-drop", "ALL",
                        *[a for cap in _CAPS for a in ("--cap-add", cap)]],
        )
        self.proc = subprocess.Popen(argv, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def run(self, program: str, limits):
        """Run one Python program; returns an :class:`~codebabel.execute.process.ExecResult`."""
        import select

        from codebabel.execute.process import ExecResult, kill_group

        if self.proc is None or self.proc.poll() is not None:
            self._start(limits)
        src = program.encode()
        header = {"size": len(src), "timeout_s": limits.timeout_s, "cpu_s": limits.cpu_s,
                  "memory": limits.memory_mb * 2**20, "nproc": limits.max_processes,
                  "fsize": limits.max_file_mb * 2**20, "nofile": limits.max_open_files,
                  "cap": limits.max_output_kb * 1024}
        start = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(header).encode() + b"\n" + src)
            self.proc.stdin.flush()
            # the server enforces the program's deadline; this one only catches a server that hangs
            ready, _, _ = select.select([self.proc.stdout], [], [], limits.timeout_s + 10)
            line = self.proc.stdout.readline() if ready else b""
            reply = json.loads(line)
        except (OSError, ValueError):
            kill_group(self.proc)
            self.proc.wait()
            self.proc = None
            return ExecResult(returncode=-9, stdout="", stderr="codebabel: warm server failed; restarted\n",
                              duration_s=time.monotonic() - start)
        return ExecResult(**reply)

    def close(self) -> None:
        import shutil

        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except Exception:
                from codebabel.execute.process import kill_group

                kill_group(self.proc)
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------
# server side (runs inside the sandbox)
# ------------------------------------------------------------------------------------------------------
# Imported once in the server so each program finds them loaded (what HumanEval-style programs import).
# ``random`` is reseeded in every child (a forked child would otherwise inherit one shared seed).
_PRELOAD = ("traceback", "atexit", "typing", "math", "re", "collections", "itertools", "functools", "string",
            "heapq", "bisect", "hashlib", "fractions", "decimal")


def _serve(uid: int) -> None:
    import ctypes
    import importlib
    import shutil

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    from codebabel.execute.process import drain

    libc = ctypes.CDLL(None, use_errno=True)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    job = 0
    while True:
        line = inp.readline()
        if not line:
            return
        req = json.loads(line)
        src = inp.read(req["size"])
        job += 1
        workdir = f"/tmp/j{job}"
        os.mkdir(workdir, 0o700)
        with open(f"{workdir}/main.py", "wb") as f:
            f.write(src)
        os.chown(workdir, uid, uid)
        os.chown(f"{workdir}/main.py", uid, uid)
        reply = _run_one(req, uid, workdir, libc, drain)
        _kill_uid(uid)
        for entry in os.listdir("/tmp"):  # nothing of one program is left for the next
            path = f"/tmp/{entry}"
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


def _run_one(req: dict, uid: int, workdir: str, libc, drain) -> dict:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child: confine, drop privileges, run
        try:
            os.close(out_r)
            os.close(err_r)
            devnull = os.open("/dev/null", os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.setsid()
            os.chdir(workdir)
            os.environ["HOME"] = os.environ["TMPDIR"] = workdir
            _set_limits(req)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)  # also clears every capability
            if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: setuid binaries stay powerless
                os._exit(126)
        except BaseException:
            os._exit(126)
        _exec_program(f"{workdir}/main.py")
    os.close(out_w)
    os.close(err_w)
    status: list[int] = []

    def child_done() -> bool:
        if not status:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status.append(st)
        return bool(status)

    got, timed_out, exceeded = drain({"stdout": out_r, "stderr": err_r}, start + req["timeout_s"], req["cap"],
                                     stop=child_done)
    if timed_out or exceeded or not child_done():
        _kill_uid(uid)  # the program, or the daemons it left holding the pipes (again after it, in _serve)
    if not status:
        status.append(os.waitpid(pid, 0)[1])
    if not (timed_out or exceeded):  # what the program wrote before it ended
        rest, _, exceeded = drain({"stdout": out_r, "stderr": err_r}, time.monotonic() + 1.0, req["cap"])
        got = {k: got[k] + rest[k] for k in got}
    os.close(out_r)
    os.close(err_r)
    code = os.waitstatus_to_exitcode(status[0])
    return {"returncode": code, "stdout": got["stdout"][: req["cap"]].decode("utf-8", "replace"),
            "stderr": got["stderr"][: req["cap"]].decode("utf-8", "replace"),
            "duration_s": time.monotonic() - start, "timed_out": timed_out, "output_exceeded": exceeded}


def _set_limits(req: dict) -> None:
    import resource

    for res, value in ((resource.RLIMIT_CPU, req["cpu_s"]), (resource.RLIMIT_AS, req["memory"]),
                       (resource.RLIMIT_NPROC, req["nproc"]), (resource.RLIMIT_FSIZE, req["fsize"]),
                       (resource.RLIMIT_NOFILE, req["nofile"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))


def _exec_program(path: str) -> None:
    """Run a program as ``python main.py`` would, in this (forked) interpreter; never returns."""
    import builtins
    import traceback

    sys.argv = [os.path.basename(path)]
    if "random" in sys.modules:  # loaded by the server (tempfile): give each program its own seed
        sys.modules["random"].seed()
    code = 0
    try:
        with open(path, "rb") as f:
            compiled = compile(f.read(), os.path.basename(path), "exec")
        exec(compiled, {"__name__": "__main__", "__file__": path, "__builtins__": builtins})
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:
        tb = e.__traceback__.tb_next if e.__traceback__ is not None else None  # drop this frame
        traceback.print_exception(type(e), e, tb if not isinstance(e, SyntaxError) else None)
        code = 1
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = code or 1
    os._exit(code & 0xFF)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` in this sandbox (from a child that becomes that uid)."""
    import signal

    for _ in range(5):  # a fork bomb may fork while a sweep runs
        if not _uid_has_processes(uid):
            return
        pid = os.fork()
        if pid == 0:
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)  # every process this uid may signal, except the caller
            except BaseException:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


def _uid_has_processes(uid: int) -> bool:
    """Whether a live (not zombie) process of ``uid`` is left."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        return True
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return False


if __name__ == "__main__":
    sys.path.insert(0, _PKG_MOUNT)
    _serve(int(sys.argv[1]))
