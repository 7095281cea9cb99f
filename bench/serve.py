"""`codebabel serve` under load: one client, then N concurrent clients, over HumanEval prompts.

Starts `codebabel serve --model MODEL --port 0` (a process of its own, 127.0.0.1), waits for it, then runs two
phases of ``--requests`` completions each over the first HumanEval prompts: one client sending them one after
the other, then ``--clients`` clients taking them from a shared list concurrently. Every request is greedy with
``--max-tokens`` tokens and, unless ``--stops``, no stop sequences, so both phases do the same work and each
request decodes its full budget unless the model ends it. Checks that no request was lost (every one answered
200 with one choice and its token count, and the server's /health counts agree), prints each phase's p50/p99
latency and tokens/s, then stops the server with SIGTERM (it must exit 0). Bounded: ``--requests`` per phase,
and ``--timeout`` seconds in all, after which the server is stopped and the run fails.

    python bench/serve.py [--model qwen2.5-coder-0.5b] [--clients 8] [--requests 24] [--max-tokens 64] [--batch-size 8]

Ends with one line: ``RESULT throughput_ratio=<tokens/s with N clients ÷ with 1 client>`` (target ≥ 2) and each
phase's figures.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients of the second phase")
    ap.add_argument("--requests", type=int, default=24, help="requests per phase (the first N HumanEval prompts)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8, help="the server's --batch-size")
    ap.add_argument("--backend", default="auto", help="the server's --backend")
    ap.add_argument("--stops", action="store_true", help="send HumanEval's Python stop sequences")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds for the whole run")
    args = ap.parse_args()
    if min(args.clients, args.requests, args.max_tokens, args.batch_size) < 1 or args.timeout <= 0:
        ap.error("--clients, --requests, --max-tokens, --batch-size and --timeout must be positive")

    from codebabel.benchmarks import load_benchmark
    from codebabel.config import available_cpus

    problems = load_benchmark("humaneval", "py")
    if args.requests > len(problems):
        ap.error(f"--requests {args.requests}: HumanEval has {len(problems)} prompts")
    problems = problems[: args.requests]
    deadline = time.monotonic() + args.timeout
    server = Server(args, deadline)
    try:
        print(f"model {args.model}; {args.requests} HumanEval prompts per phase, greedy, max_tokens={args.max_tokens}"
              f", stops {'on' if args.stops else 'off'}; server --batch-size {args.batch_size}; {available_cpus()} "
              f"CPUs; {server.url}", flush=True)
        bodies = [{"model": args.model, "prompt": p.prompt, "max_tokens": args.max_tokens, "temperature": 0,
                   **({"stop": list(p.stop_tokens)} if args.stops else {})} for p in problems]
        one = run_phase(server.url, bodies, 1, deadline)
        report("1 client", one)
        many = run_phase(server.url, bodies, args.clients, deadline)
        report(f"{args.clients} clients", many)
        health = get_json(f"{server.url}/health", deadline)
        sent = 2 * len(bodies)
        if health["answered"] != sent or health["failed"]:
            sys.exit(f"FAILED: sent {sent} requests, the server answered {health['answered']} and failed "
                     f"{health['failed']}")
    finally:
        code = server.stop()
    if code != 0:
        sys.exit(f"FAILED: the server exited {code} after SIGTERM")
    print(f"no request lost: {sent} sent, {sent} answered; server exited 0 on SIGTERM")
    print(f"RESULT throughput_ratio={many['tok_s'] / one['tok_s']:.2f} tok_s_1={one['tok_s']:.1f} "
          f"tok_s_{args.clients}={many['tok_s']:.1f} p50_1={one['p50']:.2f} p99_1={one['p99']:.2f} "
          f"p50_{args.clients}={many['p50']:.2f} p99_{args.clients}={many['p99']:.2f}")


class Server:
    """`codebabel serve` in its own process; its address read from the line it prints on stdout."""

    def __init__(self, args, deadline: float):
        cmd = [sys.executable, "-m", "codebabel", "serve", "--model", args.model, "--port", "0", "--batch-size",
               str(args.batch_size), "--backend", args.backend, "--max-queue", str(max(64, 2 * args.clients))]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)  # stderr: the terminal
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()
        self.lines = lines
        while True:
            try:
                line = lines.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
            except queue.Empty:
                line = ""
            if " at http://" in line:
                self.url = line.split(" at ")[1].split("/v1")[0]
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f"FAILED: `{' '.join(cmd)}` did not start")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def post(url: str, body: dict, deadline: float) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("--timeout reached")
    try:
        with urllib.request.urlopen(req, timeout=left) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code}: {e.read().decode()[:300]}") from None


def get_json(url: str, deadline: float) -> dict:
    with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.monotonic())) as r:
        return json.loads(r.read())


def run_phase(url: str, bodies: list[dict], clients: int, deadline: float) -> dict:
    """Every body sent once by ``clients`` clients taking the next from a shared list; latencies and tokens."""
    todo: queue.Queue = queue.Queue()
    for b in bodies:
        todo.put(b)
    latencies: list[float] = []
    tokens: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        while not errors:
            try:
                body = todo.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            try:
                r = post(f"{url}/v1/completions", body, deadline)
                n = r["usage"]["completion_tokens"]
                if len(r["choices"]) != 1 or n < 1:
                    raise RuntimeError(f"a malformed answer: {json.dumps(r)[:300]}")
            except Exception as e:  # noqa: BLE001 - every failure is reported, the phase stops
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
                return
            with lock:
                latencies.append(time.perf_counter() - t0)
                tokens.append(n)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors or len(latencies) != len(bodies):
        sys.exit(f"FAILED with {clients} client(s): {len(latencies)} of {len(bodies)} answered; "
                 f"{errors[0] if errors else 'requests lost'}")
    lat = sorted(latencies)
    return {"requests": len(lat), "tokens": sum(tokens), "wall_s": wall, "tok_s": sum(tokens) / wall,
            "p50": lat[len(lat) // 2], "p99": lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]}


def report(name: str, r: dict) -> None:
    print(f"{name}: {r['requests']} requests, {r['tokens']} tokens in {r['wall_s']:.1f} s = {r['tok_s']:.1f} tok/s; "
          f"latency p50 {r['p50']:.2f} s, p99 {r['p99']:.2f} s", flush=True)


if __name__ == "__main__":
    main()
