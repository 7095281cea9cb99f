"""Sandboxed execution over Ray: programs/s on a local Ray cluster of two nodes vs the local pool, same programs.

Both run the same programs (HumanEval's canonical Python solutions, cycled to ``--programs``) through
``codebabel.execute.runner.run_many``, the function ``evaluate`` executes with, in the same sandbox with the same
limits and the same number of programs at once:
- local: ``--executor local``, ``nodes x --cpus-per-node`` workers on this machine;
- ray: ``--executor ray`` on a Ray cluster started here on 127.0.0.1 (a head and ``nodes - 1`` worker nodes,
  ``--cpus-per-node`` CPUs each; tests/raycluster.py), results sent back to this process as in a real run.

A cluster's worker processes live as long as the cluster: a short warm-up run starts them (and their sandboxes)
before the timed run. The local pool starts its slots and warm servers inside its timed run, as every
``evaluate`` does. Run it on an otherwise idle machine: other CPU-heavy processes skew both numbers.

Usage: python bench/ray_exec.py [--programs 656] [--cpus-per-node 1] [--one-node] [--repeat 1]
Ends with one line: RESULT efficiency=<ray programs/s / local programs/s> target=0.8
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/raycluster.py: the local cluster the tests use

from codebabel.benchmarks import load_benchmark  # noqa: E402
from codebabel.config import ExecutionConfig  # noqa: E402
from codebabel.execute.runner import Job, run_many  # noqa: E402
from tests.raycluster import LocalCluster  # noqa: E402


def jobs(n: int) -> list[Job]:
    problems = load_benchmark("humaneval", "py")
    return [Job(i, p.language, p.program(p.canonical_solution)) for i, p in enumerate(islice(cycle(problems), n))]


def timed(batch: list[Job], cfg: ExecutionConfig) -> tuple[float, int]:
    t = time.perf_counter()
    passed = sum(o.passed for o in run_many(batch, cfg))
    return time.perf_counter() - t, passed


def on_cluster(nodes: int, cpus: int, batch: list[Job], repeat: int, token: str) -> list[float]:
    with LocalCluster(cpus=(cpus,) * nodes, token=token) as cluster:
        import ray  # after the cluster set its auth variables: ray reads them on import

        cfg = ExecutionConfig(executor="ray", ray_address=cluster.address)
        try:
            timed(batch[: 16 * nodes * cpus], cfg)  # warm-up: the workers start, each checks its sandbox once
            seconds = []
            for r in range(repeat):
                s, passed = timed(batch, cfg)
                seconds.append(s)
                print(f"ray, {nodes} node(s) x {cpus} CPU, round {r + 1}: {s:.2f} s, {len(batch) / s:.1f} programs/s "
                      f"({passed}/{len(batch)} passed)", flush=True)
        finally:
            ray.shutdown()  # leave the cluster before it goes
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=656, help="programs per timed run (HumanEval's 164, cycled)")
    ap.add_argument("--cpus-per-node", type=int, default=1, help="CPUs of each Ray node (the local pool gets "
                                                                 "2x as many workers)")
    ap.add_argument("--one-node", action="store_true", help="also measure a cluster of one node (the head alone)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs of each; the median is reported")
    args = ap.parse_args()
    batch = jobs(args.programs)
    workers = 2 * args.cpus_per_node
    local = []
    for r in range(args.repeat):
        s, passed = timed(batch, ExecutionConfig(workers=workers))
        local.append(s)
        print(f"local pool, {workers} workers, round {r + 1}: {s:.2f} s, {len(batch) / s:.1f} programs/s "
              f"({passed}/{len(batch)} passed)", flush=True)
    token = secrets.token_hex(32)  # this process joins each cluster with the token it first read
    one = on_cluster(1, workers, batch, args.repeat, token) if args.one_node else None
    two = on_cluster(2, args.cpus_per_node, batch, args.repeat, token)
    local_rate, ray_rate = len(batch) / statistics.median(local), len(batch) / statistics.median(two)
    print(f"median: local pool {local_rate:.1f} programs/s, ray 2 nodes x {args.cpus_per_node} CPU {ray_rate:.1f} "
          f"programs/s" + (f", ray 1 node x {workers} CPUs {len(batch) / statistics.median(one):.1f} programs/s"
                           if one else "") + f", {len(batch)} programs")
    print(f"RESULT efficiency={ray_rate / local_rate:.2f} target=0.8")


if __name__ == "__main__":
    main()
