"""Hostile programs are contained and classified while the pool keeps working; the machine stays healthy."""

import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from codebabel.config import ExecutionConfig
from codebabel.errors import CodebabelError
from codebabel.execute import sandbox as sandbox_mod
from codebabel.execute.bwrap import SANDBOX_UID_BASE
from codebabel.execute.runner import Job, run_many
from codebabel.execute.sandbox import Sandbox
from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.conftest import needs_bwrap

PY = get_language("py")


def sandbox_processes() -> list[int]:
    """Pids on the host owned by a sandbox uid (there must be none once a run is over)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
        except FileNotFoundError:
            continue
        if SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + 1000:
            pids.append(int(entry.name))
    return pids


def job(key: str, source: str) -> Job:
    return Job(key, PY, PY.assemble(textwrap.dedent(source), "", ""))


@needs_bwrap
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_hostile_programs_are_contained_and_classified(tmp_path, warm):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    outside = tmp_path / "outside.txt"
    secret = Path("/root") / f".codebabel-secret-{os.getpid()}"
    if os.access("/root", os.W_OK):
        secret.write_text("TOPSECRET-ROOT")
    hostile = {
        "fork_bomb": """
            import os
            while True:
                os.fork()
        """,
        "infinite_loop": "while True:\n    pass\n",
        "allocate_20gb": "x = bytearray(20 * 2**30)\n",
        "write_2gb_file": """
            with open('/tmp/big', 'wb') as f:
                for _ in range(2048):
                    f.write(b'x' * 2**20)
        """,
        "connect_loopback": f"""
            import socket
            socket.create_connection(('127.0.0.1', {port}), timeout=2)
        """,
        "write_outside_tmp": f"""
            for path in [{str(outside)!r}, '/usr/pwned', '/etc/pwned', '/pwned']:
                try:
                    open(path, 'w').write('pwned')
                    print('WROTE', path)
                except OSError:
                    pass
            raise SystemExit(1)
        """,
        "read_secrets": f"""
            import os
            for path in ['/etc/shadow', {str(secret)!r}]:
                try:
                    print(open(path).read())
                except OSError as e:
                    print('denied', path, type(e).__name__)
            print(os.listdir('/root'))
        """,
        "kill_parent": """
            import os, signal
            for pid in (os.getppid(), 1, -1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        """,
        "detached_daemon": """
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(60)
                os._exit(0)
        """,
        "print_200mb": "import sys\nsys.stdout.write('x' * 200_000_000)\n",
    }
    expected = {
        "fork_bomb": {Status.RUNTIME_ERROR, Status.TIMEOUT, Status.KILLED},
        "infinite_loop": {Status.TIMEOUT},
        "allocate_20gb": {Status.MEMORY_LIMIT},
        "write_2gb_file": {Status.RUNTIME_ERROR},
        "connect_loopback": {Status.RUNTIME_ERROR},
        "write_outside_tmp": {Status.RUNTIME_ERROR},
        "read_secrets": {Status.OK},
        "kill_parent": {Status.OK},  # it survives its own attempt; the pool and host do too
        "detached_daemon": {Status.OK},
        "print_200mb": {Status.OUTPUT_LIMIT},
    }
    jobs = []
    for i, (name, src) in enumerate(hostile.items()):
        jobs.append(job(name, src))
        jobs.append(job(f"good{i}", "assert sum(range(10)) == 45\n"))
    cfg = ExecutionConfig(timeout_s=4, workers=2, memory_mb=1024, warm=warm)
    t0 = time.monotonic()
    try:
        outcomes = {o.key: o for o in run_many(jobs, cfg)}
    finally:
        secret.unlink(missing_ok=True)
    elapsed = time.monotonic() - t0

    assert len(outcomes) == len(jobs)
    for name, allowed in expected.items():
        assert outcomes[name].status in allowed, (name, outcomes[name])
    # the pool kept working: every well-behaved program interleaved with the hostile ones passed
    assert all(o.passed for k, o in outcomes.items() if k.startswith("good"))
    # nothing escaped
    with pytest.raises(TimeoutError):
        listener.accept()
    assert not outside.exists()
    assert not Path("/pwned").exists() and not Path("/usr/pwned").exists()
    assert "WROTE" not in outcomes["write_outside_tmp"].stdout
    assert "TOPSECRET" not in outcomes["read_secrets"].stdout
    assert "root:" not in outcomes["read_secrets"].stdout
    assert "File too large" in outcomes["write_2gb_file"].stderr
    assert len(outcomes["print_200mb"].stdout) <= cfg.max_output_kb * 1024
    # no process outlives its program (the detached daemon, the fork bomb's children)
    time.sleep(0.2)
    assert sandbox_processes() == []
    # the deadline held: 10 hostile programs (two of them spin) on 2 workers
    assert elapsed < 60


@needs_bwrap
def test_a_detached_background_process_cannot_touch_later_files(tmp_path):
    # A daemon that would write after its program exits: the sandbox's pid namespace takes it down first.
    box = Sandbox()
    with box.open() as d:
        d.write({"main.py": textwrap.dedent("""
            import os, time
            if os.fork() == 0:
                os.setsid()
                time.sleep(1.0)
                open('/tmp/late.txt', 'w').write('still alive')
                os._exit(0)
        """)})
        r = d.run([PY.interpreter, "-S", "main.py"], ro_paths=(PY.prefix,))
        assert r.returncode == 0
        time.sleep(1.5)
        assert not (d.path / "late.txt").exists()


def test_refuses_without_bwrap_unless_unsafe(monkeypatch):
    monkeypatch.setattr(sandbox_mod.shutil, "which", lambda name: None)
    with pytest.raises(CodebabelError, match="bubblewrap"):
        Sandbox()
    box = Sandbox(unsafe=True)  # explicit opt-in: rlimits + private dir only
    with box.open() as d:
        d.write({"main.py": "print('hi')\n"})
        r = d.run([PY.interpreter, "-S", "main.py"])
    assert r.returncode == 0 and r.stdout == "hi\n"


@needs_bwrap
@pytest.mark.parametrize("source,status", [
    ("def f(:\n    pass\n", Status.SYNTAX_ERROR),
    ("  x = 1\n", Status.SYNTAX_ERROR),
    ("assert 1 == 2\n", Status.ASSERTION_FAILED),
    ("raise ValueError('boom')\n", Status.RUNTIME_ERROR),
    ("import sys\nsys.exit(0)\n", Status.RUNTIME_ERROR),  # exited before its tests ran: not a pass
    ("def f():\n    return f()\nf()\n", Status.RUNTIME_ERROR),
    ("print('fine')\n", Status.OK),
])
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_python_statuses(source, status, warm):
    out = next(run_many([Job("x", PY, f"{source}\nprint('__codebabel_tests_done__')\n")],
                        ExecutionConfig(workers=1, timeout_s=5, warm=warm)))
    assert out.status is status, out


@needs_bwrap
def test_warm_server_leaves_nothing_of_one_program_to_the_next():
    # One slot, so both programs go through the same warm server one after the other.
    first = job("first", """
        import os, time, random
        print(random.random())
        open('/tmp/left-behind', 'w').write('x')
        if os.fork() == 0:
            os.setsid()
            time.sleep(0.5)
            open('/tmp/evil', 'w').write('the daemon outlived its program')
            os._exit(0)
    """)
    second = job("second", """
        import os, sys, time
        time.sleep(1.0)
        assert not os.path.exists('/tmp/evil'), 'a daemon of the previous program is alive'
        assert not os.path.exists('/tmp/left-behind'), 'files of the previous program are visible'
        import random
        print(random.random())
    """)
    outs = {o.key: o for o in run_many([first, second], ExecutionConfig(workers=1, warm=True))}
    assert outs["first"].status is Status.OK, outs["first"]
    assert outs["second"].status is Status.OK, outs["second"]
    assert outs["first"].stdout.split()[0] != outs["second"].stdout.split()[0]  # each its own random seed


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="per-slot uids are used only when codebabel runs as root")
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_processes_of_another_run_do_not_count_against_this_runs_limits(warm):
    """RLIMIT_NPROC counts every process of a uid on the machine. Another run (or its leftovers) holding
    processes under the uids a fixed numbering would give slot 0 and 1 must not make this run's programs
    fail to start theirs (a JVM then fails to create its threads: issue 14, item 14)."""
    import subprocess

    occupied = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 2)
    squatters = [subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "60"])
                 for uid in occupied for _ in range(12)]
    try:
        other = Sandbox()
        other_uids = {other.uid(0), other.uid(1)}  # a concurrent run in this process holds two more
        program = """
            import os, subprocess
            children = [subprocess.Popen(["sleep", "0.2"]) for _ in range(6)]
            assert all(c.wait() == 0 for c in children)
            print(os.getuid())
        """
        jobs = [Job(i, PY, textwrap.dedent(program), standalone=True) for i in range(4)]
        cfg = ExecutionConfig(timeout_s=20, max_processes=10, workers=2, warm=warm)
        outcomes = list(run_many(jobs, cfg))
        assert [o.status for o in outcomes] == [Status.OK] * 4, [o.stderr for o in outcomes]
        uids = {int(o.stdout.strip()) for o in outcomes}
        assert len(uids) == 2 and not uids & set(occupied) and not uids & other_uids
    finally:
        for p in squatters:
            p.kill()
            p.wait()
