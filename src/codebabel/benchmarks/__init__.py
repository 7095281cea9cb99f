"""Benchmarks as lists of :class:`Problem`, in every language: the original HumanEval (``humaneval``), its
MultiPL-E-style translation to every other language (``transpile``), and export for other harnesses
(``export``). Scoring them is ``codebabel.evaluate``'s job.
"""

from __future__ import annotations

from codebabel.benchmarks.humaneval import humaneval_python
from codebabel.benchmarks.problem import Problem
from codebabel.benchmarks.transpile import translate_humaneval
from codebabel.errors import CodebabelError
from codebabel.languages import Language, all_languages, get_language

__all__ = ["BENCHMARKS", "Problem", "coverage", "humaneval", "humaneval_python", "load_benchmark",
           "load_benchmark_with_skips"]


def humaneval(lang: Language) -> tuple[list[Problem], list]:
    """HumanEval in ``lang``: the original for Python, MultiPL-E-style translations for every other language."""
    if lang.name == get_language("py").name:
        return humaneval_python(), []
    return translate_humaneval(lang)


#: name -> loader(language) -> (problems, skipped: list of translate.Skipped with task_id and reason)
BENCHMARKS = {"humaneval": humaneval}


def load_benchmark_with_skips(name: str, language: str | Language) -> tuple[list[Problem], list]:
    loader = BENCHMARKS.get(name.lower())
    if loader is None:
        raise CodebabelError(f"unknown benchmark '{name}': known benchmarks are {', '.join(BENCHMARKS)}")
    lang = language if isinstance(language, Language) else get_language(language)
    return loader(lang)


def load_benchmark(name: str, language: str | Language) -> list[Problem]:
    return load_benchmark_with_skips(name, language)[0]


def coverage(name: str = "humaneval") -> list[tuple[Language, int, int, str | None]]:
    """``codebabel languages``: per language, (language, problems of benchmark ``name`` translated, problems,
    why its toolchain is missing or None)."""
    rows = []
    for lang in all_languages():
        problems, skipped = load_benchmark_with_skips(name, lang)
        rows.append((lang, len(problems), len(problems) + len(skipped), lang.toolchain_missing()))
    return rows
