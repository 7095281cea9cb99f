"""The Ray cluster as a pool: connect once per process, map a function over items on the cluster's workers.

``--executor ray`` (``evaluate``, ``evaluate translation``, synth's executions: ``execute/runner.py``'s
``run_many``) sends batches of programs here; each batch runs in a Ray worker process, in that process's own
sandbox (the same bubblewrap fences, limits and statuses as the local pool), and comes back to the calling
process, which stays the one writer of the results. ``corpus build --executor ray`` connects here before
handing its stages to datatrove's ``RayPipelineExecutor``.

What a lost node costs: Ray runs a task again elsewhere when its worker or node dies (``max_retries``); a
task's results come back whole or not at all, so nothing is stored twice, and whatever was stored before a
failure is kept: the same command run again does the rest. Failures come back as one-line errors.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codebabel.errors import CodebabelError

#: times Ray runs a task again when its worker process or node dies (not when the task itself raises)
MAX_RETRIES = 3
_RETRY = "the results finished so far are stored: run the same command again to do the rest"
_connected: list[str | None] = []  # the address this process is connected to (one at a time)
_remote: dict[Callable, Any] = {}  # each function made a Ray task once per process


def ray_module():
    """``import ray``, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise CodebabelError("--executor ray: Ray is not installed here; pip install 'codebabel[ray]' (or "
                             "pip install ray), the same version on every node of the cluster") from None
    return ray


def connect(address: str | None = None):
    """Connect this process to the Ray cluster at ``address`` (``HOST:PORT`` of its head, ``auto``: the one
    ``ray start`` started on this machine, ``ray://HOST:PORT``: Ray Client); unset: ``$RAY_ADDRESS``, else a
    one-machine Ray instance started for this process. Returns the ``ray`` module. An address nothing listens
    on is refused in one line at once (Ray itself would wait for it for minutes)."""
    ray = ray_module()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        if _connected and _connected[0] == address:
            return ray
        ray.shutdown()
    _reachable(address)
    try:
        ray.init(address=address or "local", logging_level=logging.WARNING, log_to_driver=False,
                 **({} if address else {"include_dashboard": False}))
    except Exception as e:  # ConnectionError, RuntimeError (version mismatch), ValueError (bad address)
        raise CodebabelError(f"--ray-address {address or '(a local instance)'}: Ray could not connect "
                             f"({_first_line(e)}); check the address (`ray status` on the head prints it) and "
                             "that this machine has the cluster's Ray and Python versions") from None
    _connected[:] = [address]
    _remote.clear()
    return ray


def _reachable(address: str | None) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) nothing answers on, in a few seconds."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise CodebabelError(f"--ray-address {address}: expected HOST:PORT (the head's GCS address, e.g. "
                             "10.0.0.1:6379), ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise CodebabelError(f"--ray-address {address}: no Ray cluster answers there ({e.strerror or e}); start "
                             "one (`ray start --head --port PORT` on the head) or check the address") from None


def cluster_cpus(ray) -> int:
    """The CPUs the cluster has now (every node's)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_map(fn: Callable, items: Iterable, address: str | None, shared: Any = None) -> Iterator:
    """``fn(item, shared)`` for every item, each a Ray task of one CPU on the cluster at ``address``; results
    in completion order. ``fn`` must be a module-level function that the workers can import (codebabel is
    installed on every node). ``shared`` is sent to the cluster once. At most two tasks per CPU are in flight,
    so a long (lazy) item list is never materialised."""
    ray = connect(address)
    task = _remote.get(fn)
    if task is None:
        task = _remote[fn] = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(fn)
    shared_ref = ray.put(shared)
    items = iter(items)
    limit = 2 * cluster_cpus(ray)
    pending: list = []
    try:
        while True:
            while len(pending) < limit and (item := next(items, None)) is not None:
                pending.append(task.remote(item, shared_ref))
            if not pending:
                return
            done, pending = ray.wait(pending, num_returns=1)
            yield _get(ray, done[0])
    finally:
        for ref in pending:  # an error, or the caller stopped early (Ctrl-C): leave nothing running
            ray.cancel(ref, force=True)


def _get(ray, ref) -> Any:
    from ray.exceptions import RayError, RayTaskError

    try:
        return ray.get(ref)
    except RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, CodebabelError):  # e.g. the sandbox's self-test failed on that node
            raise CodebabelError(f"on a Ray worker: {_first_line(cause)}") from None
        if isinstance(cause, ModuleNotFoundError):
            raise CodebabelError(f"a Ray worker could not import {cause.name}: install codebabel (this version) "
                                 "on every node of the cluster") from None
        raise CodebabelError(f"a Ray task failed: {type(cause or e).__name__}: {_first_line(cause or e)}; "
                             f"{_RETRY}") from None
    except RayError as e:  # a worker or node died past MAX_RETRIES, an object was lost, the cluster went away
        raise CodebabelError(f"the Ray cluster lost work ({type(e).__name__}: {_first_line(e)}); {_RETRY}") from None


def _first_line(e: BaseException) -> str:
    return next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)[:300]
