"""``codebabel synth RECIPE``: the five stages in order, each resumable, each reading what the one before wrote.

``functions`` → ``tests`` → ``translate`` (per language) → ``solutions`` (per language) → ``dataset``. A rerun
of the same recipe skips everything already done (nothing is generated or run twice; a kill -9 loses at most the
item in flight); ``until`` stops after a stage. The teacher is loaded only when a stage has something to generate.
"""

from __future__ import annotations

import json
import time

from rich.console import Console

from codebabel.errors import CodebabelError
from codebabel.execute.sandbox import Sandbox
from codebabel.inputs import ensure_dir
from codebabel.languages import get_language
from codebabel.progress import progress_bar
from codebabel.store import atomic_write_text, provenance
from codebabel.synth.dataset import write_dataset
from codebabel.synth.functions import run_functions
from codebabel.synth.recipe import SynthRecipe
from codebabel.synth.solutions import run_solutions
from codebabel.synth.teacher import make_teacher
from codebabel.synth.transtests import run_translate
from codebabel.synth.unittests import run_tests

STAGES = ("functions", "tests", "translate", "solutions", "dataset")


def run_synth(r: SynthRecipe, until: str = "dataset", console: Console | None = None, teacher=None) -> dict:
    """Run the stages of ``r`` up to ``until``; returns the summary (also ``RUN/summary.json``). ``teacher``: a
    built generation backend to use instead of the recipe's (tests hand in a scripted one)."""
    if until not in STAGES:
        raise CodebabelError(f"--until {until}: use one of {', '.join(STAGES)}")
    console = console or Console(stderr=True)
    ensure_dir(r.run_dir, "output")
    r.run_dir.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True)

    langs = [get_language(name) for name in r.languages]
    stop = STAGES.index(until)
    summary: dict = {"run_dir": str(r.run_dir), "stages": {}}
    t0 = time.monotonic()
    with progress_bar(console) as progress:
        funcs = run_functions(r, progress, log)
        summary["stages"]["functions"] = funcs.summary
        if stop >= 1:
            if stop >= 2:
                for lang in langs:  # refuse early, before anything is generated
                    if (why := lang.toolchain_missing()) is not None:
                        raise CodebabelError(why)
            sandbox = Sandbox(unsafe=r.execution.unsafe_no_sandbox)
            t = make_teacher(r.teacher, teacher, log)
            tests = run_tests(r, t, funcs.selected, sandbox, progress, log)
            summary["stages"]["tests"] = tests.summary
            per_language: dict[str, dict] = {}
            for lang in langs if stop >= 2 else ():
                tr = run_translate(r, lang, tests.stage.hash, tests.kept, sandbox, progress, log)
                per_language[lang.name] = {"translate": tr}
                summary["stages"].setdefault("translate", {})[lang.name] = tr.summary
            for lang in langs if stop >= 3 else ():
                tr = per_language[lang.name]["translate"]
                so = run_solutions(r, lang, tr.stage.hash, tr.kept, t, sandbox, progress, log)
                per_language[lang.name]["solutions"] = so
                summary["stages"].setdefault("solutions", {})[lang.name] = so.summary
            if stop >= 4:
                funnel = write_dataset(r, funcs.summary, tests.summary, tests.stage.hash, per_language, t.identity,
                                       provenance(), py_tests={f["id"]: f["tests"] for f in tests.kept})
                summary["stages"]["dataset"] = {lang: funnel["languages"][lang]["rows"] for lang in per_language}
                summary["dataset"] = str(r.run_dir / "dataset")
    summary.update(until=until, seconds=round(time.monotonic() - t0, 2), provenance=provenance())
    atomic_write_text(r.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
