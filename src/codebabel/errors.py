"""One exception type for every bad input a user can hit.

The CLI turns a :class:`CodebabelError` into one line on stderr and a non-zero exit; library callers get a
normal exception. The message names the input and says what to do.
"""


class CodebabelError(Exception):
    """A user-facing error: bad input, missing toolchain, unknown name. ``str(e)`` is one line."""

    exit_code = 2
