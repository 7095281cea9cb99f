"""The outcome of running one program: one status, one place.

Finer than MultiPL-E (which lumps compile and type errors into "SyntaxError"): a language module maps its
toolchain's output onto these, and reports and pass@k read them.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    SYNTAX_ERROR = "syntax_error"
    COMPILE_ERROR = "compile_error"
    TYPE_ERROR = "type_error"
    RUNTIME_ERROR = "runtime_error"
    ASSERTION_FAILED = "assertion_failed"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"

    @property
    def passed(self) -> bool:
        return self is Status.OK
