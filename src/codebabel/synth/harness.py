"""The program that runs a function's generated asserts in the sandbox, and measures their line coverage.

One program per function, in the sandbox (``execute/sandbox.py``: bubblewrap, an unprivileged uid, rlimits, a
wall-clock deadline), with the interpreter codebabel runs on (``-I -S -B``: no environment, no site-packages):

1. the function is defined once (``fn.py``, annotations not evaluated);
2. each assert runs in a forked child of its own, with its own deadline (``assert_timeout_s``, then SIGKILL): a
   test cannot see another's side effects, and one that hangs in C code costs only its own time. Its stdout and
   stderr go to /dev/null; the child reports through a pipe whether the assert passed and, recorded by a wrapper
   around the function, the arguments it was called with and the value it returned (``repr``: read back on the
   host with ``ast.literal_eval``, never executed there);
3. one more child runs the passing asserts under coverage.py (its package directory is bound read-only into
   the sandbox and put on ``sys.path`` only for the import) and reports the function's statements and the ones
   that never ran.

The program prints one JSON line per assert and one for the coverage; only the harness itself writes to its
stdout (the children's output is discarded).
"""

from __future__ import annotations

import json
import os
import queue
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from codebabel.errors import CodebabelError
from codebabel.execute.runner import bounded_map
from codebabel.execute.sandbox import ExecResult, Limits, Sandbox

#: longest ``repr`` of one assert's recorded calls that is kept (longer ones cannot be translated anyway)
MAX_REPR = 20_000

HARNESS = r'''
import __future__, copy, json, os, select, signal, sys, time
cfg = json.load(open("tests.json"))
src = open("fn.py").read()
path = os.path.abspath("fn.py")
code = compile(src, path, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
ns = {"__name__": "__synth__", "__builtins__": __builtins__}
exec(code, ns)
fn = ns[cfg["name"]]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def in_child(body, timeout):
    """Run body() in a forked child; (status, payload) where status is ok | timeout | crashed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0); os.dup2(devnull, 1); os.dup2(devnull, 2)
        try:
            payload = json.dumps(body())
        except BaseException as e:
            payload = json.dumps({"ok": False, "why": type(e).__name__})
        data = payload.encode()
        while data:
            data = data[os.write(w, data):]
        os._exit(0)
    os.close(w)
    chunks, deadline, status = [], time.monotonic() + timeout, "ok"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    if status == "timeout":
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.close(r)
    os.waitpid(pid, 0)
    if status != "ok":
        return status, None
    try:
        return "ok", json.loads(b"".join(chunks))
    except ValueError:
        return "crashed", None


def run_test(test):
    calls = []

    def candidate(*args):
        before = copy.deepcopy(args)
        value = fn(*args)
        calls.append((before, copy.deepcopy(value)))
        return value

    env = dict(ns)
    env[cfg["name"]] = candidate
    try:
        exec(compile(test, "<test>", "exec"), env)
    except AssertionError:
        return {"ok": False, "why": "assertion"}
    text = repr(calls)
    return {"ok": True, "calls": text if len(text) <= cfg["max_repr"] else None}


passing = []
for i, test in enumerate(cfg["tests"]):
    status, out = in_child(lambda test=test: run_test(test), cfg["assert_timeout_s"])
    if status != "ok":
        out = {"ok": False, "why": status}
    emit({"test": i, **out})
    if out["ok"]:
        passing.append(test)


def covered():
    sys.path.insert(0, cfg["coverage_path"])
    try:
        import coverage
    finally:
        sys.path.remove(cfg["coverage_path"])
    cov = coverage.Coverage(data_file=None, config_file=False, branch=False)
    cov.start()
    for test in passing:
        env = dict(ns)
        try:
            exec(compile(test, "<test>", "exec"), env)
        except BaseException:
            pass
    cov.stop()
    _, statements, _, missing, _ = cov.analysis2(path)
    return {"statements": statements, "missing": missing}


if passing:
    status, out = in_child(covered, cfg["assert_timeout_s"] * (len(passing) + 1) + 10)
    emit({"coverage": out if status == "ok" else None, "why": None if status == "ok" else status})
emit({"done": True})
'''


def coverage_package() -> str:
    """The folder of the coverage package (bound read-only into the sandbox)."""
    try:
        import coverage
    except ImportError:
        raise CodebabelError("coverage.py is not installed, so test coverage cannot be measured: pip install "
                             "coverage (or run scripts/setup.sh)") from None
    return os.path.dirname(os.path.realpath(coverage.__file__))


@dataclass(frozen=True)
class HarnessJob:
    key: str
    name: str
    source: str
    tests: tuple[str, ...]
    assert_timeout_s: float


@dataclass
class HarnessOutcome:
    key: str
    tests: list[dict]  # one per test, in order: {"ok", "why" | "calls"}
    statements: list[int] | None
    missing: list[int] | None
    error: str | None  # why the program did not finish (timeout, memory, a crash)
    duration_s: float


def _program(job: HarnessJob, cov_pkg: str) -> dict[str, str]:
    cfg = {"name": job.name, "tests": list(job.tests), "assert_timeout_s": job.assert_timeout_s,
           "max_repr": MAX_REPR, "coverage_path": os.path.dirname(cov_pkg)}
    return {"main.py": HARNESS, "fn.py": job.source, "tests.json": json.dumps(cfg)}


def parse_output(key: str, n_tests: int, r: ExecResult) -> HarnessOutcome:
    tests: dict[int, dict] = {}
    cov = None
    done = False
    for line in r.stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if isinstance(obj.get("test"), int):
            tests[obj["test"]] = obj
        elif "coverage" in obj:
            cov = obj.get("coverage")
        elif obj.get("done"):
            done = True
    error = None
    if not done:
        if r.timed_out:
            error = "timeout"
        elif r.output_exceeded:
            error = "output_limit"
        else:
            tail = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
            error = f"crashed: {tail[:200]}"
    rows = [tests.get(i, {"ok": False, "why": error or "not_run"}) for i in range(n_tests)]
    stmts = cov.get("statements") if isinstance(cov, dict) else None
    missing = cov.get("missing") if isinstance(cov, dict) else None
    return HarnessOutcome(key, rows, stmts, missing, error, r.duration_s)


def run_harnesses(jobs: Iterable[HarnessJob], limits: Limits, workers: int, sandbox: Sandbox
                  ) -> Iterator[HarnessOutcome]:
    """Run each job's program in the sandbox, ``workers`` at a time; outcomes in completion order."""
    interpreter = os.path.realpath(sys.executable)  # the real binary, not a pyenv/venv shim
    prefix = os.path.realpath(sys.base_prefix)
    cov_pkg = coverage_package()
    ro_paths = tuple(dict.fromkeys((prefix, cov_pkg)))
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for s in range(workers):
        slots.put(s)

    def work(job: HarnessJob) -> HarnessOutcome:
        slot = slots.get()
        try:
            with sandbox.open(slot) as box:
                box.write(_program(job, cov_pkg))
                r = box.run([interpreter, "-I", "-S", "-B", "main.py"], limits, ro_paths)
            return parse_output(job.key, len(job.tests), r)
        finally:
            slots.put(slot)

    yield from bounded_map(jobs, work, workers, "codebabel-synth")


def body_coverage(source: str, name: str, statements: list[int], missing: list[int]) -> float | None:
    """Percent of the function's body statements (past the ``def`` line and the docstring) that ran; None when
    the body has no statements coverage.py counts."""
    import ast

    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
    if not body:
        return None
    first = body[0].lineno
    lines = [ln for ln in statements if first <= ln <= (fn.end_lineno or ln)]
    if not lines:
        return None
    miss = set(missing)
    return 100.0 * sum(ln not in miss for ln in lines) / len(lines)
