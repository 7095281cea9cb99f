import sys

import pytest

from codebabel.errors import CodebabelError
from codebabel.evaluate import codematch
from codebabel.evaluate.codematch import (
    DATAFLOW_CONVENTION,
    SCORE_KEYS,
    bleu,
    codebleu_scores,
    exact_match,
    normalise,
    sentence_scores,
)

REF = """\
def running_total(values):
    total = 0
    result = []
    for value in values:
        total = total + value
        result.append(total)
    return result
"""

RENAMED = """\
def running_total(xs):
    acc = 0
    out = []
    for x in xs:
        acc = acc + x
        out.append(acc)
    return out
"""

UNRELATED = """\
class Greeter:
    def greet(self, name):
        print("hello", name, "and welcome")
"""

BROKEN = """\
def running_total(values)
    total = 0
    result = [
    for value in values:
        total = total + value
        result.append(total
    return result
"""

# Calls and literals only: codebleu's Python DFG yields no data-flow edge for this reference.
NO_DATAFLOW = 'print("one", "two", "three", "four")\n'


def test_identical_code_scores_one_and_matches_exactly():
    scores = codebleu_scores([REF], [REF])
    assert list(scores) == list(SCORE_KEYS)
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["codebleu"] == pytest.approx(1.0)
    assert exact_match(REF, REF)


def test_renamed_variables_rank_between_identical_and_unrelated():
    identical = sentence_scores(REF, REF)["codebleu"]
    renamed = sentence_scores(REF, RENAMED)
    unrelated = sentence_scores(REF, UNRELATED)["codebleu"]
    assert unrelated < renamed["codebleu"] < identical
    # structure survives renaming, and (nearly all) data-flow does; the n-grams do not. Not exactly 1.0:
    # codebleu orders merged loop data-flow parents through set(), so the value depends on PYTHONHASHSEED.
    assert renamed["syntax_match"] == pytest.approx(1.0)
    assert renamed["dataflow_match"] > 0.9
    assert renamed["ngram_match"] < 1.0


def test_broken_syntax_lowers_syntax_match():
    assert sentence_scores(REF, BROKEN)["syntax_match"] < sentence_scores(REF, RENAMED)["syntax_match"]


def test_bleu_is_codebleus_ngram_component():
    refs, preds = [REF, NO_DATAFLOW], [RENAMED, NO_DATAFLOW]
    assert bleu(refs, preds) == pytest.approx(codebleu_scores(refs, preds)["ngram_match"])
    assert bleu([REF], [REF]) == pytest.approx(1.0)
    assert bleu([REF], [""]) == 0.0


def test_exact_match_ignores_whitespace_noise_but_not_tokens():
    noisy = "\r\n" + REF.replace("\n", "   \r\n").replace("    return", "\n  \n    return") + "\n\n"
    assert normalise(noisy) == REF.rstrip("\n")
    assert exact_match(REF, noisy)
    assert not exact_match(REF, REF.replace("total + value", "total - value"))
    assert not exact_match(REF, REF.replace("    total = 0", "  total = 0"))  # indentation is syntax


@pytest.mark.parametrize("fn", [codebleu_scores, bleu])
def test_bad_lengths_raise(fn):
    with pytest.raises(ValueError):
        fn([REF, REF], [REF])
    with pytest.raises(ValueError):
        fn([], [])


def test_dataflow_convention():
    assert "counts that component as 1.0" in DATAFLOW_CONVENTION
    # 1. the reference has no data-flow edges: reported 0, counted as 1 in codebleu
    s = sentence_scores(NO_DATAFLOW, NO_DATAFLOW)
    assert s["dataflow_match"] == 0.0
    assert s["syntax_match"] == pytest.approx(1.0)
    assert s["codebleu"] == pytest.approx(0.25 * (s["ngram_match"] + s["weighted_ngram_match"] + 1.0 + 1.0))
    # 2. the reference has edges but none is matched: also reported 0 and counted as 1
    s = sentence_scores(REF, "")
    assert s == {"codebleu": 0.25, "ngram_match": 0.0, "weighted_ngram_match": 0.0, "syntax_match": 0.0,
                 "dataflow_match": 0.0}
    # 3. a partial match is used as is
    s = sentence_scores(REF, RENAMED.replace("acc = acc + x", "acc = x"))
    assert 0.0 < s["dataflow_match"] < 1.0
    assert s["codebleu"] == pytest.approx(0.25 * sum(s[k] for k in SCORE_KEYS[1:]))


@pytest.fixture
def fresh_grammar_cache():
    codematch._check_grammar.cache_clear()
    yield
    codematch._check_grammar.cache_clear()


def test_missing_codebleu_is_a_one_line_codebabel_error(monkeypatch, fresh_grammar_cache):
    monkeypatch.setitem(sys.modules, "codebleu", None)
    with pytest.raises(CodebabelError, match=r"codebleu.*pip install 'codebleu==0\.7\.0'") as e:
        codebleu_scores([REF], [REF])
    assert "\n" not in str(e.value)
    with pytest.raises(CodebabelError, match="codebleu"):
        bleu([REF], [REF])


def test_missing_grammar_is_a_one_line_codebabel_error(monkeypatch, fresh_grammar_cache):
    monkeypatch.setitem(sys.modules, "tree_sitter_c_sharp", None)
    with pytest.raises(CodebabelError, match=r"tree-sitter-c-sharp.*pip install 'tree-sitter-c-sharp==") as e:
        codebleu_scores(["int x = 1;"], ["int x = 1;"], lang="c_sharp")
    assert "\n" not in str(e.value)


def test_unknown_language(fresh_grammar_cache):
    with pytest.raises(CodebabelError, match="unknown language 'cobol'"):
        codebleu_scores([REF], [REF], lang="cobol")


@pytest.mark.parametrize("lang,code", [
    ("java", "class A { int f(int a) { int b = a + 1; return b; } }"),
    ("cpp", "int f(int a) { int b = a + 1; return b; }"),
    ("c_sharp", "class A { int F(int a) { int b = a + 1; return b; } }"),
    ("javascript", "function f(a) { let b = a + 1; return b; }"),
    ("php", "<?php function f($a) { $b = $a + 1; return $b; }"),
])
def test_pinned_grammars_load(lang, code):
    assert codebleu_scores([code], [code], lang=lang)["syntax_match"] == pytest.approx(1.0)
