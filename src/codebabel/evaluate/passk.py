"""pass@k with the unbiased estimator of Chen et al. (2021), as in human-eval and MultiPL-E."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from codebabel.errors import CodebabelError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c of them correct) passes.

    ``1 - C(n-c, k) / C(n, k)`` computed stably as ``1 - prod(1 - k / arange(n-c+1, n+1))``.
    Refuses ``k > n`` (a known harness bug reports pass@100 = 1.0 from 20 samples).
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > n:
        raise CodebabelError(f"pass@{k} needs at least {k} samples per problem, but a problem has only {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: Mapping[str, tuple[int, int]] | Iterable[tuple[int, int]], k: int) -> float:
    """Mean pass@k over problems; ``counts`` gives (n, c) per problem."""
    pairs = list(counts.values()) if isinstance(counts, Mapping) else list(counts)
    if not pairs:
        raise CodebabelError("no results to compute pass@k from")
    return float(np.mean([pass_at_k(n, c, k) for n, c in pairs]))

