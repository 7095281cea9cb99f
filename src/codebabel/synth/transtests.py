"""Stage 3, ``translate``: each kept function's prompt and tests in a target language, by the benchmark translator.

A synthetic function is handed to ``benchmarks/transpile.py`` as a HumanEval problem would be: its signature and
docstring read with ``ast``, its tests the (arguments, returned value) pairs recorded in stage 2 (in the sandbox),
its types from the annotations completed by the recorded values; the language module renders the prompt (the
docstring as comments, reworded, ``>>>`` examples translated, the header), the assertion harness and a stub body.
With ``canonical_in_prompt`` (MultiPL-T's prompt) the Python body, commented, heads the docstring in the prompt the
teacher sees; the training text (stage 5) uses the prompt without it.

Functions the target cannot express (a union type in a language without one, a value that does not fit its type,
a signature the translator refuses) are dropped with the translator's reason. With ``check_stub`` the harness is run
once with the stub body (sandbox): it must end in ``ok`` or ``assertion_failed``, or the harness itself is broken
and nothing is generated for it. Resumable: one record per function (``translations.jsonl``).
"""

from __future__ import annotations

import ast
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from codebabel.benchmarks.problem import Problem
from codebabel.benchmarks.transpile import analyse, signature_for
from codebabel.config import ExecutionConfig, available_cpus
from codebabel.execute.runner import Job, run_many
from codebabel.execute.sandbox import Sandbox
from codebabel.execute.status import Status
from codebabel.languages import Language
from codebabel.languages.base import Param, Signature, TestCase
from codebabel.languages.types import INT, STR, Untranslatable, list_of
from codebabel.store import settings_hash
from codebabel.synth.recipe import SynthRecipe
from codebabel.synth.stages import StageDir

VERSION = 1
CANONICAL_HEADER = "## Canonical Python solution ##"


@dataclass(frozen=True)
class PythonFunction:
    """A synthetic function where the translator expects a benchmark problem."""

    task_id: str
    prompt: str  # the whole function: the translator reads its signature and docstring
    entry_point: str


def canonical_lines(source: str, name: str) -> tuple[str, ...]:
    """The function's body past the docstring, dedented, each line as a ``# `` comment line of the prompt."""
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
    lines = source.splitlines()[body[0].lineno - 1:fn.end_lineno]
    code = textwrap.dedent("\n".join(lines)).rstrip().splitlines()
    return (CANONICAL_HEADER, *(f"# {ln}".rstrip() for ln in code), "")


def translate_function(f: dict, lang: Language, canonical: bool) -> dict:
    """``{"prompt", "train_prompt", "tests", "stub", "entry_point"}`` of one function in ``lang``; raises
    :class:`Untranslatable` with the reason."""
    cases = []
    for text in f["cases"]:
        args, value = ast.literal_eval(text)
        cases.append(TestCase(tuple(args), value))
    a = analyse(PythonFunction(f["id"], f["source"], f["name"]), tuple(cases))
    sig = signature_for(a, lang)
    shown = Signature(sig.name, sig.params, sig.returns, (*canonical_lines(f["source"], f["name"]), *sig.doc)
                      ) if canonical else sig
    t = lang.translate(shown, a.cases)
    train_prompt = lang.prompt(sig) if canonical else t.prompt
    return {"prompt": t.prompt, "train_prompt": train_prompt, "tests": t.tests, "stub": t.stub,
            "entry_point": sig.name, "cases": len(a.cases)}


def translator_digest(lang: Language) -> str:
    """A hash of what ``lang``'s translator makes of a fixed probe: a changed translator gives another stage folder."""
    sig = Signature("probe", (Param("xs", list_of(INT)), Param("s", STR)), INT, ("Probe: >>> nothing.",))
    try:
        t = lang.translate(sig, (TestCase(([1, 2], "a"), 3), TestCase(([], ""), 0)))
        return settings_hash([t.prompt, t.tests, t.stub])
    except Untranslatable as e:
        return settings_hash(str(e))


def stage_settings(r: SynthRecipe, lang: Language, tests_hash: str) -> dict:
    e = r.execution
    return {"stage": "translate", "version": VERSION, "language": lang.name, "tests_stage": tests_hash,
            "translator": translator_digest(lang), "translate": asdict(r.translate),
            "execution": {"timeout_s": e.timeout_s, "memory_mb": e.memory_mb, "unsafe_no_sandbox": e.unsafe_no_sandbox}}


@dataclass
class TranslateResult:
    language: Language
    stage: StageDir
    kept: list[dict]  # the tests-stage records + the translation fields, in order
    summary: dict


def execution_config(r: SynthRecipe) -> ExecutionConfig:
    e = r.execution
    return ExecutionConfig(timeout_s=e.timeout_s, memory_mb=e.memory_mb, workers=e.workers or available_cpus(),
                           unsafe_no_sandbox=e.unsafe_no_sandbox, executor=e.executor,
                           ray_address=e.ray_address if e.executor == "ray" else None)


def run_translate(r: SynthRecipe, lang: Language, tests_hash: str, functions: list[dict], sandbox: Sandbox,
                  progress, log: Callable[[str], None] = lambda _: None) -> TranslateResult:
    stage = StageDir(r.run_dir, f"3-translate-{lang.name}", stage_settings(r, lang, tests_hash))
    records = stage.log("translations")
    stage.note_partial(log)
    todo = [f for f in functions if (f["id"], 0) not in records.records]
    bar = progress.add_task(f"translate tests: {lang.name}", total=len(todo))
    t0 = time.monotonic()
    try:
        to_check: dict[str, Problem] = {}
        translated: dict[str, dict] = {}
        for f in todo:
            try:
                t = translate_function(f, lang, r.translate.canonical_in_prompt)
            except Untranslatable as e:
                records.append({"task_id": f["id"], "sample": 0, "kept": False, "reason": "untranslatable",
                                "detail": str(e)[:300]})
                progress.advance(bar)
                continue
            except Exception as e:  # a translator bug on one odd function must not stop the run
                records.append({"task_id": f["id"], "sample": 0, "kept": False, "reason": "translator_error",
                                "detail": f"{type(e).__name__}: {e}"[:300]})
                progress.advance(bar)
                continue
            if not r.translate.check_stub:
                records.append({"task_id": f["id"], "sample": 0, "kept": True, "reason": None, **t})
                progress.advance(bar)
                continue
            translated[f["id"]] = t
            to_check[f["id"]] = Problem(task_id=f["id"], prompt=t["prompt"], tests=t["tests"],
                                        entry_point=t["entry_point"], language=lang, stub=t["stub"])
        jobs = [Job(fid, lang, p.program(p.stub or "")) for fid, p in to_check.items()]
        for out in run_many(jobs, execution_config(r), sandbox=sandbox):
            ok = out.status in (Status.OK, Status.ASSERTION_FAILED)
            records.append({"task_id": out.key, "sample": 0, "kept": ok, "reason": None if ok else "harness_broken",
                            "detail": None if ok else f"{out.status.value}: {out.stderr.strip()[-300:]}",
                            "stub_status": out.status.value, **translated[out.key]})
            progress.advance(bar)
    finally:
        stage.close()
    kept, reasons, details = [], Counter(), Counter()
    for f in functions:
        rec = records.records.get((f["id"], 0))
        if rec is None:
            continue
        if rec["kept"]:
            kept.append({**f, **{k: rec[k] for k in ("prompt", "train_prompt", "tests", "stub", "entry_point")}})
        else:
            reasons[rec["reason"]] += 1
            details[_short_reason(rec)] += 1
    old = stage.read_summary()
    summary = {"stage": "translate", "language": lang.name, "dir": str(stage.dir), "functions": len(functions),
               "dropped": dict(reasons.most_common()), "dropped_detail": dict(details.most_common(10)),
               "kept": len(kept), "seconds": round(old.get("seconds", 0.0) + time.monotonic() - t0, 2)}
    stage.write_summary(summary)
    log(f"translate tests ({lang.name}): {len(kept)} of {len(functions)} functions")
    return TranslateResult(lang, stage, kept, summary)


def _short_reason(rec: dict) -> str:
    detail = str(rec.get("detail") or "")
    if rec["reason"] == "harness_broken":
        return f"harness_broken: {rec.get('stub_status')}"
    return f"{rec['reason']}: {detail.split(' does not fit')[0][:80]}"
