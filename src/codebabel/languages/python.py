"""Python: the source language of HumanEval, run with the interpreter codebabel itself runs on."""

from __future__ import annotations

import ast
import os
import re
import sys

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages.base import DONE_MARKER, Language, RunSpec, existing

_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
_SYNTAX = {"SyntaxError", "IndentationError", "TabError"}


class Python(Language):
    name, display_name, aliases, extensions = "py", "Python", ("python", "python3"), (".py",)
    fence, apt_packages = "python", ("python3",)
    stop_tokens = ("\ndef", "\n#", "\nif", "\nclass", "\nprint(", "\nif __name__")
    source_excludes, source_license = ("site-packages", "dist-packages", "__pycache__"), "PSF-2.0"

    def system_sources(self) -> list[str]:
        import sysconfig

        return existing(sysconfig.get_paths()["stdlib"])

    def __init__(self) -> None:
        # The real binary, not a pyenv/venv shim (a shell script, slow and invisible inside the sandbox).
        self.interpreter = os.path.realpath(sys.executable)
        self.prefix = os.path.realpath(sys.base_prefix)

    def toolchain_missing(self) -> str | None:
        return None  # the interpreter running codebabel

    def warm_interpreter(self) -> tuple[str, tuple[str, ...]]:
        return self.interpreter, (self.prefix,)

    def assemble(self, prompt: str, completion: str, tests: str) -> str:
        return f"{prompt}{completion}\n{tests}\nprint({DONE_MARKER!r})\n"

    def hoisted(self, code: str) -> str:
        """Imports, helper functions, classes and module-level assignments (evalplus's sanitiser keeps the
        same); example calls, prints and ``if __name__ == "__main__":`` blocks are dropped."""
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return ""
        keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                ast.AnnAssign)
        lines = code.splitlines()
        return "\n".join("\n".join(lines[min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
                                         - 1:node.end_lineno])
                         for node in tree.body if isinstance(node, keep))

    def run_spec(self, program: str) -> RunSpec:
        # -I: isolated (no env vars, no user site, no cwd on sys.path); -S: no site-packages (3x faster
        # start-up; HumanEval needs only the standard library); -B: no .pyc writes.
        return RunSpec(
            files={"main.py": program},
            run=[self.interpreter, "-I", "-S", "-B", "main.py"],
            ro_paths=(self.prefix,),
            warm=True,
        )

    def classify(self, result: ExecResult) -> Status:
        common = self.common_status(result)
        if common is not None:
            return common
        if result.returncode == 0:
            return Status.OK if DONE_MARKER in result.stdout else Status.RUNTIME_ERROR
        exc = last_exception(result.stderr)
        if exc in _SYNTAX:
            return Status.SYNTAX_ERROR
        if exc == "AssertionError":
            return Status.ASSERTION_FAILED
        if exc == "MemoryError":
            return Status.MEMORY_LIMIT
        return Status.RUNTIME_ERROR


def last_exception(stderr: str) -> str | None:
    """The exception class name on the last line of a Python traceback, if any."""
    for line in reversed(stderr.strip().splitlines()):
        m = _EXC_LINE.match(line)
        if m:
            return m.group(1).rsplit(".", 1)[-1]
        if line and not line[0].isspace():
            return None
    return None
