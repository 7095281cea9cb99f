"""What codebabel knows about one programming language, in one class.

A language module (``languages/<name>.py``) subclasses :class:`Language` and fills in its names, stop
tokens, how a benchmark program is assembled, how it is compiled and run in the sandbox, and how the
toolchain's output maps onto a :class:`~codebabel.execute.status.Status`. Nothing outside ``languages/``
branches on a language name.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from codebabel.execute.sandbox import ExecResult, Limits
from codebabel.execute.status import Status


@dataclass(frozen=True)
class RunSpec:
    """Files to write into the sandbox directory and the commands to run there (cwd = that directory)."""

    files: dict[str, str]
    run: list[str]
    compile: list[str] | None = None
    ro_paths: tuple[str, ...] = field(default_factory=tuple)
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
    #: Debian packages that provide the toolchain
    apt_packages: tuple[str, ...] = ()
    #: executables that must be on PATH for this language to run
    toolchain: tuple[str, ...] = ()

    def toolchain_missing(self) -> str | None:
        """None when the toolchain is here, else a one-line reason naming what to install."""
        missing = [t for t in self.toolchain if shutil.which(t) is None]
        if not missing:
            return None
        pkgs = " ".join(self.apt_packages) or "its toolchain"
        return f"{self.display_name}: {', '.join(missing)} not found; install with apt-get install {pkgs}"

    def assemble(self, prompt: str, completion: str, tests: str) -> str:
        """The program to run: the prompt, the model's completion, then the test harness."""
        return f"{prompt}{completion}\n{tests}\n"

    def warm_interpreter(self) -> tuple[str, tuple[str, ...]] | None:
        """(Python interpreter, read-only paths it needs) when programs may run in a warm fork server."""
        return None

    def adjust_limits(self, limits: Limits) -> Limits:
        """Hook for toolchains that need more (e.g. a JVM's address space); default unchanged."""
        return limits

    @abstractmethod
    def run_spec(self, program: str) -> RunSpec: ...

    @abstractmethod
    def classify(self, result: ExecResult) -> Status:
        """Map the run step's result to a status."""

    def classify_compile(self, result: ExecResult) -> Status:
        """Map a failed compile step to a status (compiled languages override for type errors)."""
        if result.timed_out:
            return Status.TIMEOUT
        return Status.COMPILE_ERROR

    def common_status(self, result: ExecResult) -> Status | None:
        """Statuses that do not depend on the language: deadline, output cap, signals."""
        import signal as _signal

        if result.output_exceeded:
            return Status.OUTPUT_LIMIT
        if result.timed_out or result.signal == _signal.SIGXCPU:
            return Status.TIMEOUT
        if result.signal is not None:
            return Status.KILLED
        return None

    def __repr__(self) -> str:
        return f"<Language {self.name}>"
