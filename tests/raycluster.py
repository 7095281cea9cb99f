"""A Ray cluster of several nodes on 127.0.0.1, for tests and bench/ray_exec.py.

Each node is one ``ray start --block`` in a process group of its own, and every Ray process of that node (GCS,
raylet, workers) stays in that group; so a node is stopped, or killed as a lost machine would be, by signalling
its group, and nothing else on the machine is touched (``ray stop`` would stop every Ray on the machine).
Each cluster keeps its files in a short temporary folder of its own (Ray's sockets need a short path), and its
own token: Ray (2.60) turns token authentication on for a head where ``~/.ray/auth_token`` exists (a local
``ray.init()`` writes one) but not for the nodes that join it, so the cluster sets ``RAY_AUTH_MODE=token`` and a
token file of its own for its nodes and, while it runs, for this process and the drivers it starts (a process
reads them when it imports ray: import it inside the ``with`` block).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RAY = [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"]
#: faster detection of a dead node than Ray's defaults (a test kills one), set on the head's GCS
FAST_HEALTH_CHECK = {"RAY_health_check_initial_delay_ms": "1000", "RAY_health_check_period_ms": "1000",
                     "RAY_health_check_timeout_ms": "1000", "RAY_health_check_failure_threshold": "3"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc, self.log = proc, log

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the group this node's `ray start` leads
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """As a machine that goes away: every process of the node at once, no clean-up."""
        self.signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGKILL)  # what SIGTERM left (Ray's GCS and raylet may linger)
        self.proc.wait()


class LocalCluster:
    """``with LocalCluster(cpus=(1, 1)) as c:`` a head and one worker node, one CPU each; ``c.address``."""

    def __init__(self, cpus: tuple[int, ...] = (1, 1), start_timeout: float = 90, token: str | None = None):
        """``token``: the cluster's auth token (default: a new one). A process that was a Ray driver keeps the
        token it first read: several clusters it joins one after the other need the same one."""
        self.cpus, self.start_timeout = cpus, start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="cbray-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []
        self.token = token or secrets.token_hex(32)
        token_file = self.root / "auth_token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}
        self._saved = {k: os.environ.get(k) for k in (*self.env, "RAY_AUTH_TOKEN")}

    def __enter__(self) -> LocalCluster:
        os.environ.update(self.env)  # drivers started from here (and this process) present the cluster's token
        os.environ.pop("RAY_AUTH_TOKEN", None)
        try:
            for i, n in enumerate(self.cpus):
                self.nodes.append(self._start(i, n))
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self, i: int, cpus: int) -> Node:
        args = ["start", "--block", "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus),
                "--disable-usage-stats", "--dashboard-agent-listen-port", str(free_port()),
                "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port())]
        if i == 0:
            args += ["--head", "--port", str(self.port), "--include-dashboard", "false",
                     "--ray-client-server-port", str(free_port()), "--temp-dir", str(self.root / "t")]
        else:
            args += ["--address", self.address]
        log = self.root / f"node{i}.log"
        # TMPDIR: what the workers leave in their temporary folder (the sandboxes' folders, datatrove's ray_logs)
        # goes with the cluster
        (self.root / "tmp").mkdir(exist_ok=True)
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TMPDIR": str(self.root / "tmp"),
               **(FAST_HEALTH_CHECK if i == 0 else {})}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.Popen([*RAY, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, start_new_session=True, cwd=self.root)
        node = Node(proc, log)
        started = threading.Event()

        def read() -> None:  # `ray start --block` says when its node runs, then keeps the pipe open
            with log.open("w") as f:
                for line in proc.stdout:
                    f.write(line)
                    f.flush()
                    if "Ray runtime started" in line:
                        started.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not started.wait(0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                node.stop()
                raise RuntimeError(f"ray node {i} did not start: {log.read_text()[-2000:]}")
        return node

    def kill_node(self, i: int) -> None:
        self.nodes[i].kill()

    def stop(self) -> None:
        for node in reversed(self.nodes):  # workers first, then the head
            node.stop()
        self.nodes = []
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.root, ignore_errors=True)
