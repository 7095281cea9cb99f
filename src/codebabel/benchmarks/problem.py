"""A benchmark problem: a prompt to complete and a test harness to run after it, in one language."""

from __future__ import annotations

from dataclasses import dataclass

from codebabel.languages import Language


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

    def program(self, completion: str, whole: bool = False) -> str:
        """The program to run: prompt + completion + tests; ``whole``: ``completion`` is a whole program (an
        evalplus solution, a bigcode-evaluation-harness generation) that replaces the prompt."""
        return self.language.assemble("" if whole else self.prompt, completion, self.tests)
