"""The language-independent half of translation: types, recorded tests, docstrings; and its CLI."""

import ast
import json

import pytest

from codebabel.benchmarks import load_benchmark_with_skips
from codebabel.benchmarks.transpile import Skipped, humaneval_analyses
from codebabel.errors import CodebabelError
from codebabel.languages.types import (
    FLOAT,
    INT,
    STR,
    Untranslatable,
    conforms,
    from_annotation,
    list_of,
    of_value,
    optional,
    tuple_of,
    unify,
    union,
)
from tests.conftest import needs_bwrap


def ann(src):
    return from_annotation(ast.parse(src, mode="eval").body)


def test_annotations_map_to_language_independent_types():
    assert ann("List[int]") == list_of(INT)
    assert ann("Tuple[int, float]") == tuple_of(INT, FLOAT)
    assert ann("Tuple[str, ...]") == list_of(STR)
    assert ann("Optional[str]") == optional(STR)
    assert ann("Union[int, None]") == optional(INT)
    with pytest.raises(Untranslatable):
        ann("Callable[[int], int]")


def test_values_unify_to_the_smallest_common_type():
    assert unify(of_value([1, 2]), of_value([0.5])) == list_of(FLOAT)
    assert unify(of_value(None), of_value("a")) == optional(STR)
    assert unify(of_value(("a",)), of_value(("a", "b"))) == list_of(STR)  # tuples of several lengths
    assert unify(of_value(1), of_value("a")) == union(INT, STR)
    assert conforms(3, FLOAT) and not conforms(3.5, INT) and not conforms(True, INT)


def test_humaneval_analysis_records_tests_and_skips_only_helper_problems():
    analyses, source = humaneval_analyses()
    assert len(source) == 164
    skipped = {k: v.reason for k, v in analyses.items() if isinstance(v, Skipped)}
    assert set(skipped) == {"HumanEval/32", "HumanEval/38", "HumanEval/50"}
    assert all("helper function" in r for r in skipped.values())
    a = analyses["HumanEval/0"]
    assert [str(p.type) for p in a.params] == ["list[float]", "float"] and str(a.returns) == "bool"
    assert len(a.cases) == 7 and a.cases[0].expected is True
    # random tests are recorded with a fixed seed: the same values every time
    assert len(analyses["HumanEval/53"].cases) > 50
    # types inferred where the prompt has no annotations
    assert str(analyses["HumanEval/148"].returns) == "list[str]"
    assert str(analyses["HumanEval/107"].returns) == "tuple[int, int]"


def test_docstring_examples_are_rendered_in_the_target_language():
    problems, _ = load_benchmark_with_skips("humaneval", "js")
    p = {q.task_id: q for q in problems}["HumanEval/12"]
    assert "// >>> longest([])" in p.prompt and "// undefined" in p.prompt  # None -> undefined
    assert "None" not in p.prompt


def test_cli_exports_translated_problems(cli, tmp_path):
    out = tmp_path / "js.jsonl"
    r = cli("benchmark", "export", "--language", ".js", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 161 and "HumanEval/32" in r.stderr
    assert rows[0]["name"] == "HumanEval_0_has_close_elements"
    assert rows[0]["stop_tokens"] and rows[0]["prompt"].endswith("{\n") and "tests" in rows[0]
    # several languages go to a folder, one file each
    r = cli("benchmark", "export", "--language", "py,js", "--out", str(tmp_path / "all"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["humaneval-js.jsonl", "humaneval-py.jsonl"]


def test_cli_bad_language_is_one_line_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "x.jsonl"
    r = cli("benchmark", "export", "--language", "js,klingon", "--out", str(out))
    assert r.returncode != 0 and "unknown language 'klingon'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()


def test_reference_is_refused_for_a_translated_language():
    from codebabel.config import EvalConfig
    from codebabel.evaluate.functional import evaluate

    with pytest.raises(CodebabelError, match="no reference solutions"):
        evaluate(EvalConfig(reference=True, language="js", limit=1))


@needs_bwrap
def test_cli_evaluates_several_languages_in_one_table(cli, tmp_path):
    r = cli("evaluate", "--stub", "--language", "all", "--limit", "2", "--results-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    summary_path = r.stdout.strip().splitlines()[-1].removeprefix("summary: ")
    combined = json.loads(open(summary_path).read())
    rows = {row["language"]: row for row in combined["languages"]}
    assert "no stub bodies" in rows["py"]["not_run"]  # the original benchmark has no stubs
    for name, row in rows.items():
        if "not_run" in row:
            continue
        assert row["problems"] == 2 and row["pass_at_k"]["pass@1"] == 0.0
        assert set(row["status_counts"]) <= {"ok", "assertion_failed"}, (name, row["status_counts"])
    assert "JavaScript" in r.stdout
