from math import comb

import pytest

from codebabel.config import parse_ks
from codebabel.errors import CodebabelError
from codebabel.evaluate.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize("n,c,k", [(10, 0, 1), (10, 3, 1), (10, 3, 5), (20, 7, 10), (200, 13, 100), (5, 5, 5)])
def test_matches_the_combinatorial_definition(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


def test_pass_at_1_is_the_fraction_correct():
    assert pass_at_k(20, 5, 1) == pytest.approx(0.25)


def test_k_greater_than_n_is_refused_not_reported_as_one():
    # the harness bug this guards against: pass@100 = 1.0 from 20 samples
    with pytest.raises(CodebabelError, match="pass@100 needs at least 100 samples"):
        pass_at_k(20, 1, 100)


def test_mean_over_problems():
    assert mean_pass_at_k({"a": (2, 2), "b": (2, 0)}, 1) == pytest.approx(0.5)


def test_parse_ks():
    assert parse_ks("10,1, 1") == (1, 10)
    for bad in ("", "a", "0", "1,-2"):
        with pytest.raises(CodebabelError):
            parse_ks(bad)
