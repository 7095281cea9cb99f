"""What codebabel knows about one programming language, in one class.

A language module (``languages/<name>.py``) subclasses :class:`Language` and fills in its names, stop
tokens, how a benchmark program is assembled, how it is compiled and run in the sandbox, and how the
toolchain's output maps onto a :class:`~codebabel.execute.status.Status`. A language benchmarks are translated
into subclasses :class:`~codebabel.languages.render.Target` instead, which adds the translation as hooks (one
value recursion, string escaping and harness loop for all). Nothing outside ``languages/`` branches on a
language name.
"""

from __future__ import annotations

import os
import re
import shutil
import signal as _signal
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from codebabel.execute.sandbox import ExecResult, Limits
from codebabel.execute.status import Status
from codebabel.languages.types import Type, Untranslatable, default_value

#: Printed by every test harness after its last test: a program that exits early (``exit(0)`` in the
#: completion) never prints it, so it cannot pass without running its tests.
DONE_MARKER = "__codebabel_tests_done__"
#: Printed (to stderr) by every translated test harness when an assertion fails, before exiting non-zero.
ASSERT_MARKER = "__codebabel_assertion_failed__"
#: Absolute tolerance of every harness's float comparison (HumanEval's own approximate tests use 1e-6).
FLOAT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Param:
    name: str
    type: Type


@dataclass(frozen=True)
class Signature:
    """A benchmark function in language-independent terms (from the Python prompt, see evaluate/translate)."""

    name: str
    params: tuple[Param, ...]
    returns: Type
    #: the docstring's lines, already reworded and with ``>>>`` examples translated for the target
    doc: tuple[str, ...]


@dataclass(frozen=True)
class TestCase:
    """One call of the function and the value it must return (Python values)."""

    args: tuple[Any, ...]
    expected: Any


@dataclass(frozen=True)
class Translation:
    prompt: str
    tests: str
    #: a completion that compiles and returns a default value (proves the harness is well typed)
    stub: str


@dataclass(frozen=True)
class RunSpec:
    """Files to write into the sandbox directory and the commands to run there (cwd = that directory)."""

    files: dict[str, str]
    run: list[str]
    compile: list[str] | None = None
    ro_paths: tuple[str, ...] = field(default_factory=tuple)
    #: environment variables added for both steps (e.g. a toolchain's cache directory under /tmp)
    env: dict[str, str] = field(default_factory=dict)
    #: the program (``files["main.py"]``) may run in a warm Python fork server (execute/warm.py)
    warm: bool = False


class Language(ABC):
    #: canonical short name, e.g. "py"
    name: str
    #: human name used in prompts and tables, e.g. "Python"
    display_name: str
    #: other names the registry accepts (case-insensitive), e.g. ("python", "python3")
    aliases: tuple[str, ...] = ()
    #: file extensions including the dot; also accepted by the registry
    extensions: tuple[str, ...] = ()
    #: tag used in markdown fences and training text, e.g. "python"
    fence: str = ""
    #: stop sequences for completion-style generation (MultiPL-E conventions)
    stop_tokens: tuple[str, ...] = ()
    #: Debian packages that provide the toolchain (scripts/setup.sh installs them for every language)
    apt_packages: tuple[str, ...] = ()
    #: npm packages installed globally by scripts/setup.sh (e.g. typescript)
    npm_packages: tuple[str, ...] = ()
    #: where to get the toolchain when no Debian package provides it (e.g. Swift, Julia)
    install_hint: str = ""
    #: executables that must be on PATH for this language to run
    toolchain: tuple[str, ...] = ()
    #: tree-sitter grammar / CodeBLEU language name, where one exists
    tree_sitter: str | None = None
    #: seconds and MiB (address space) a compile step may use; the run step uses the configured limits
    compile_timeout_s: float = 60.0
    compile_memory_mb: int = 4096

    # -- translation of benchmark problems (MultiPL-E style; see evaluate/translate.py) -------------------
    #: words of Python docstrings reworded for this language, e.g. {"list": "array", "None": "nil"}
    doc_terms: dict[str, str] = {}
    #: identifiers a parameter may not be named (renamed with a trailing underscore)
    reserved: frozenset[str] = frozenset()
    #: regexes over a failed compile step's output, or over a run's stderr for interpreted languages
    syntax_error_patterns: tuple[str, ...] = ()
    type_error_patterns: tuple[str, ...] = ()
    memory_error_patterns: tuple[str, ...] = ()
    #: where set, the syntax and type patterns read only the first line of a failed compile's output it matches
    first_error_pattern: str | None = None

    # -- real source code installed on this machine (``codebabel corpus build --from-system``) -----------------
    #: Debian packages that add source code of the language (beyond the toolchain), e.g. the JDK's src.zip
    source_packages: tuple[str, ...] = ()
    #: folder names never read under a system source (e.g. Python's site-packages)
    source_excludes: tuple[str, ...] = ()
    #: the license of those system sources, where one license covers them (for the dataset card)
    source_license: str | None = None

    #: where they are: a toolchain command that prints folders (one a line), the subfolder of each that holds
    #: the sources, and fixed folders
    source_query: tuple[str, ...] = ()
    source_subdir: str = ""
    source_dirs: tuple[str, ...] = ()

    def system_sources(self) -> list[str]:
        """Folders (or ``.zip`` archives) of real source code of this language installed here: the standard
        library and packages its toolchain ships. Empty where the toolchain ships none as source."""
        asked = (ask_toolchain(*self.source_query) if self.source_query else None) or ""
        return existing(*(f"{folder}{self.source_subdir}" for folder in asked.splitlines()), *self.source_dirs)

    def toolchain_missing(self) -> str | None:
        """None when the toolchain is here, else a one-line reason naming what to install."""
        missing = [t for t in self.toolchain if shutil.which(t) is None]
        if not missing:
            return None
        if self.apt_packages or self.npm_packages:
            how = " and ".join(x for x in (
                self.apt_packages and f"apt-get install {' '.join(self.apt_packages)}",
                self.npm_packages and f"npm install -g {' '.join(self.npm_packages)}") if x)
            how = f"install with {how} (or run scripts/setup.sh)"
        else:
            how = f"install it from {self.install_hint or 'its project site'}; no Debian package provides it"
        return f"{self.display_name}: {', '.join(missing)} not found; {how}"

    def assemble(self, prompt: str, completion: str, tests: str) -> str:
        """The program to run: the prompt, the model's completion, then the test harness."""
        return f"{prompt}{completion}\n{tests}\n"

    def hoisted(self, code: str) -> str:
        """Of the code an instruct reply wrote outside the entry point's function, what may follow the function
        in the program (the ``instruct`` format appends it): nothing by default, since most languages need a
        declaration before its use and a reply's ``main`` or example calls must not run."""
        return ""

    def translate(self, sig: Signature, cases: Sequence[TestCase]) -> Translation:
        """Prompt, test harness and stub completion for one function; raises :class:`Untranslatable`."""
        tests = [(self.test_call(sig, [self.argument_literal(a, p.type)
                                       for a, p in zip(c.args, sig.params, strict=False)]),
                  self.literal(c.expected, sig.returns)) for c in cases]
        return Translation(self.prompt(sig), self.test_harness(sig, tests), self.stub(sig))

    def argument_literal(self, value: Any, t: Type) -> str:
        """An argument of a test's call (Go: exactly the parameter's type, a pointer for an optional)."""
        return self.literal(value, t)

    def test_call(self, sig: Signature, args: Sequence[str]) -> str:
        """A test's call of the function (Swift: with argument labels)."""
        return self.call(sig.name, args)

    def prompt(self, sig: Signature) -> str:
        """The docstring as a comment, then the function header up to where the body starts."""
        raise Untranslatable(f"{self.display_name} has no translator")

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        """Code after prompt + completion: closes the function if the stop token cut it, then asserts
        ``call == expected`` for each (call, expected) pair (floats within FLOAT_TOLERANCE), printing
        ASSERT_MARKER to stderr and exiting non-zero on the first failure, and DONE_MARKER at the end."""
        raise Untranslatable(f"{self.display_name} has no translator")

    def literal(self, value: Any, t: Type) -> str:
        """``value`` (a Python value) as a literal of type ``t`` in this language."""
        raise Untranslatable(f"{self.display_name} has no translator")

    def call(self, name: str, args: Sequence[str]) -> str:
        return f"{name}({', '.join(args)})"

    def stub(self, sig: Signature) -> str:
        """A completion that returns a default value of the return type."""
        raise Untranslatable(f"{self.display_name} has no translator")

    def default_literal(self, t: Type) -> str:
        return self.literal(default_value(t), t)

    def comment(self, lines: Sequence[str], prefix: str) -> str:
        """The docstring lines as line comments (blank lines keep the bare prefix)."""
        return "".join(f"{prefix} {ln}".rstrip() + "\n" for ln in lines)

    def safe_name(self, name: str) -> str:
        return f"{name}_" if name in self.reserved else name

    def warm_interpreter(self) -> tuple[str, tuple[str, ...]] | None:
        """(Python interpreter, read-only paths it needs) when programs may run in a warm fork server."""
        return None

    def adjust_limits(self, limits: Limits) -> Limits:
        """Hook for toolchains that need more (e.g. a JVM's address space); default unchanged."""
        return limits

    def compile_limits(self, limits: Limits) -> Limits:
        """Limits of the compile step: compilers get more time and address space than programs."""
        return replace(limits, timeout_s=max(limits.timeout_s, self.compile_timeout_s),
                       memory_mb=max(limits.memory_mb, self.compile_memory_mb),
                       max_processes=max(limits.max_processes, 256))

    @abstractmethod
    def run_spec(self, program: str) -> RunSpec: ...

    def program_spec(self, program: str) -> RunSpec:
        """How to compile and run a whole standalone program (e.g. one side of a translation pair, data/pairs/)
        rather than a benchmark harness; the same as :meth:`run_spec` unless a language names its files by the
        program's content (Java: the public class)."""
        return self.run_spec(program)

    def classify(self, result: ExecResult) -> Status:
        """Map the run step's result to a status, using the markers every test harness prints."""
        status = self.marker_status(result)
        if status is not None:
            return status
        if ASSERT_MARKER in result.stdout:
            return Status.ASSERTION_FAILED
        output = result.stderr + result.stdout
        if matches(self.memory_error_patterns, output):
            return Status.MEMORY_LIMIT
        if result.signal is not None:  # it crashed on its own (common_status turned the kills away)
            return Status.RUNTIME_ERROR
        if matches(self.syntax_error_patterns, result.stderr):
            return Status.SYNTAX_ERROR
        if matches(self.type_error_patterns, result.stderr):
            return Status.TYPE_ERROR
        return Status.RUNTIME_ERROR

    def marker_status(self, result: ExecResult) -> Status | None:
        """What every run decides alike: :meth:`common_status`, then ok (exit 0 after DONE_MARKER on stdout) and
        assertion_failed (ASSERT_MARKER on stderr); None for the rest, which the language's words decide."""
        common = self.common_status(result)
        if common is not None:
            return common
        if result.returncode == 0 and DONE_MARKER in result.stdout:
            return Status.OK
        return Status.ASSERTION_FAILED if ASSERT_MARKER in result.stderr else None

    def classify_compile(self, result: ExecResult) -> Status:
        """Map a failed compile step to a status: type errors and syntax errors by the toolchain's words."""
        if result.timed_out:
            return Status.TIMEOUT
        output = result.stderr + result.stdout
        first = self.first_error(output)
        if matches(self.syntax_error_patterns, first):
            return Status.SYNTAX_ERROR
        if matches(self.type_error_patterns, first):
            return Status.TYPE_ERROR
        if matches(self.memory_error_patterns, output):
            return Status.MEMORY_LIMIT
        return Status.COMPILE_ERROR

    def first_error(self, output: str) -> str:
        """The part of a failed compile's output that the syntax and type patterns read: all of it, or (for a
        compiler whose later errors often follow from the first, e.g. g++, rustc) the first line that matches
        ``first_error_pattern``."""
        if self.first_error_pattern is None:
            return output
        return next((ln for ln in output.splitlines() if re.search(self.first_error_pattern, ln)), "")

    def common_status(self, result: ExecResult) -> Status | None:
        """Statuses that do not depend on the language: deadline, output cap, kills (a crash is the language's)."""
        if result.output_exceeded:
            return Status.OUTPUT_LIMIT
        if result.timed_out or result.signal == _signal.SIGXCPU:
            return Status.TIMEOUT
        if result.signal in _CRASH_SIGNALS:
            return None  # the program crashed on its own (segfault, abort, ...): the language decides
        if result.signal is not None:
            return Status.KILLED
        return None

    def __repr__(self) -> str:
        return f"<Language {self.name}>"


#: signals a program raises against itself (std::terminate's abort, a bad pointer, a division by zero, a Rust
#: stack overflow, a Swift trap): runtime errors (or, by their message, memory errors), not kills
_CRASH_SIGNALS = frozenset({_signal.SIGABRT, _signal.SIGBUS, _signal.SIGFPE, _signal.SIGILL, _signal.SIGSEGV,
                            _signal.SIGTRAP})


def ask_toolchain(*cmd: str) -> str | None:
    """The stripped stdout of a trusted toolchain command (e.g. ``go env GOROOT``), or None if it fails."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def existing(*paths: str | None) -> list[str]:
    """The given paths that exist, in order, each once."""
    seen: list[str] = []
    for p in paths:
        if p and os.path.exists(p) and os.path.realpath(p) not in map(os.path.realpath, seen):
            seen.append(p)
    return seen


def matches(patterns: Sequence[str], text: str) -> bool:
    """Whether any of the regexes matches somewhere in ``text`` (``^``/``$`` at line ends)."""
    return any(re.search(p, text, re.MULTILINE) for p in patterns)
