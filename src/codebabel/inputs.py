"""The one reader of files users hand codebabel, and the one check of the folders they name for output.

Every user file (completions, pairs, training JSONL, corpus shards and sources, XLCoST files, recipes) is read
here, so every way such a file can be wrong is a one-line :class:`CodebabelError` naming the file and the line,
never a traceback:

- not UTF-8 → ``data.jsonl:3: not UTF-8 (byte 0xff at column 5); save the file as UTF-8``;
- a UTF-8 byte-order mark at the start (Windows editors, PowerShell) is accepted and dropped (``utf-8-sig``);
- a line that is not JSON, or not a JSON object → ``data.jsonl:3: not valid JSON (...)`` /
  ``data.jsonl:3: a line must be a JSON object, one sample; this one is a list``;
- missing, a folder, unreadable, or a broken ``.gz`` → ``{what} PATH: no such file`` / ``...: cannot read``.

:func:`read_text` (a whole file; :func:`read_text_or_stdin`: ``-`` is standard input), :func:`iter_lines`
(lazily, ``.gz`` too), :func:`iter_jsonl` (objects, lazily), :func:`read_json` (one JSON document);
:func:`ensure_dir` checks an output folder a flag names before anything is written (``--results-dir X: is a
file; pass a folder``).
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError

BOM = b"\xef\xbb\xbf"


def _not_utf8(path: str | Path, lineno: int, byte: int, column: int) -> CodebabelError:
    return CodebabelError(f"{path}:{lineno}: not UTF-8 (byte 0x{byte:02x} at column {column}); save the file as "
                          "UTF-8")


def _decode(path: str | Path, lineno: int, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, lineno, line[e.start], e.start + 1) from None


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise CodebabelError(f"{what} {path}: no such file")
    if not path.is_file():
        raise CodebabelError(f"{what} {path}: is a folder, not a file; pass a file")


def _cannot_read(path: Path, what: str, e: Exception) -> CodebabelError:
    why = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return CodebabelError(f"{what} {path}: cannot read it ({why})")


def read_text(path: str | Path, what: str = "file") -> str:
    """The whole text of ``path`` (UTF-8, a leading BOM dropped); ``what`` names the input in errors."""
    p = Path(path).expanduser()
    _check_file(p, what)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise _cannot_read(p, what, e) from None
    return _decode_text(path, data)


def read_text_or_stdin(path: str | Path, what: str = "file") -> str:
    """:func:`read_text`, or standard input where ``path`` is ``-`` (named ``<stdin>`` in errors)."""
    if str(path) != "-":
        return read_text(path, what)
    try:
        data = sys.stdin.buffer.read()
    except (OSError, AttributeError) as e:  # closed, or replaced by a text-only stream
        raise CodebabelError(f"{what} -: cannot read standard input ({type(e).__name__})") from None
    return _decode_text("<stdin>", data)


def _decode_text(path: str | Path, data: bytes) -> str:
    """``data`` as UTF-8 (a leading BOM dropped); a bad byte is an error naming ``path``, its line and column."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        start = data.rfind(b"\n", 0, e.start) + 1  # the bad byte's line and column (bytes, from 1)
        raise _not_utf8(path, data.count(b"\n", 0, start) + 1, data[e.start], e.start - start + 1) from None


def iter_lines(path: str | Path, what: str = "file") -> Iterator[tuple[int, str]]:
    """``(line number, line without its end)`` of ``path``, lazily (``.gz`` files decompressed); UTF-8, a
    leading BOM dropped."""
    p = Path(path).expanduser()
    _check_file(p, what)
    opener = gzip.open if p.name.endswith(".gz") else open
    try:
        with opener(p, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if lineno == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM):]
                yield lineno, _decode(path, lineno, raw).rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as e:  # unreadable, or a broken .gz (BadGzipFile is an OSError)
        raise _cannot_read(p, what, e) from None


def iter_jsonl(path: str | Path, what: str = "file", record: str = "record") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of a JSONL file, lazily; blank lines skipped. ``record`` says what one line
    holds ("sample", "pair") in the errors for a line that is not JSON or not a JSON object."""
    for lineno, line in iter_lines(path, what):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            why = f"{e.msg} at column {e.colno}" if isinstance(e, json.JSONDecodeError) else str(e)
            raise CodebabelError(f"{path}:{lineno}: not valid JSON ({why}); each line must be one {record}") from None
        if not isinstance(row, dict):
            raise CodebabelError(f"{path}:{lineno}: a line must be a JSON object, one {record}; this one is "
                                 f"{_kind(row)}")
        yield lineno, row


def read_yaml_mapping(path: str | Path, what: str, missing_hint: str, mapping_hint: str) -> dict:
    """The YAML mapping in the settings file ``path`` (a recipe, a sweep): one-line :class:`CodebabelError` when
    it is missing (``what 'path': no such file; missing_hint``), not YAML (with the line), or not a mapping
    (``the top level must be mapping_hint``)."""
    import yaml

    p = Path(path).expanduser()
    where = f"{what} '{path}'"
    if not p.is_file():
        raise CodebabelError(f"{where}: no such file; {missing_hint}")
    try:
        data = yaml.safe_load(read_text(p, what)) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise CodebabelError(f"{where}{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise CodebabelError(f"{where}: the top level must be {mapping_hint}")
    return data


def read_json(path: str | Path, what: str = "file") -> Any:
    """The one JSON document in ``path``; an error names the line it is on."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CodebabelError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def ensure_dir(path: str | Path, flag: str) -> Path:
    """The output folder ``flag`` names, checked before anything is written: a one-line error when it (or a
    folder above it) is a file. The folder is not created here."""
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists() and not q.is_dir():
            where = "" if q == p else f" ({q} is a file)"
            raise CodebabelError(f"{flag} {path}: is a file{where}; pass a folder")
        if q.is_dir():
            break
    return p
