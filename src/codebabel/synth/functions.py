"""Stage 1, ``functions``: Python functions with docstrings from a corpus, each kept or dropped with the reason.

The sources are read in order (a corpus folder's train, validation and test splits; a JSONL file's rows; a
folder's ``.py`` files by name). Every top-level ``def`` of a document that parses is a candidate, named by a
hash of its text (``gcd-3fa2b1c0d9e8``: the same function in two files is one candidate). Its first failing check
is its reason:

- ``async``, ``decorated`` (the decorator lives elsewhere and changes what the function is);
- ``no_docstring``, ``not_ascii``;
- ``signature`` (defaults, ``*args``, keyword-only or positional-only parameters: the benchmark translator
  renders positional calls only), ``no_parameters``;
- ``generator``, ``no_return_value`` (no ``return <value>`` in the function's own body);
- ``trivial_body`` (the body, past the docstring, is one ``return`` of a constant or a bare name);
- ``too_long`` (more than ``functions.max_lines`` lines);
- ``contaminated`` (the corpus decontamination, data/decontaminate.py: a HumanEval docstring, solution or
  translated prompt in any language, or a MinHash near match of one);
- ``type_check`` (mypy with ``--check-untyped-defs`` on the function alone, as MultiPL-T ran pyright on it: a
  function that uses a module-level name, an import of its file or another function is not self-contained and
  fails with ``name-defined``).

Nothing here runs the code. Resumable: each document's candidates (``candidates.jsonl``) are stored before the
document is marked read (``documents.jsonl``); the type checker's verdicts (``functions.jsonl``) are stored batch
by batch.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from codebabel.config import DecontamConfig
from codebabel.data.corpus import iter_rows, open_split
from codebabel.errors import CodebabelError
from codebabel.inputs import iter_jsonl, read_text
from codebabel.synth.recipe import SynthRecipe
from codebabel.synth.stages import StageDir

VERSION = 1  # bump when a check changes: earlier verdicts are not reused
TYPECHECK_BATCH = 200
CORPUS_SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Document:
    key: str  # a hash of the text: the same text is read once
    text: str
    origin: dict


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def function_id(name: str, source: str) -> str:
    return f"{name}-{hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


# -- reading the sources --------------------------------------------------------------------------------------------

def iter_documents(sources: tuple[str, ...], text_field: str = "text") -> Iterator[Document]:
    """Every document of ``sources``, in order; one-line errors for a source that is none of the kinds."""
    for src in sources:
        path = Path(src).expanduser()
        if path.is_dir() and (path / "manifest.json").is_file():
            for split in CORPUS_SPLITS:
                if not (path / split).is_dir():
                    continue
                for row in iter_rows(open_split(path, split)):
                    yield Document(text_key(row["text"]), row["text"],
                                   {"source": src, "split": split, "id": str(row.get("id", ""))})
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*.py") if p.is_file()):
                try:
                    text = read_text(file, "source file")
                except CodebabelError:
                    continue  # not UTF-8 or unreadable: not a Python document we can use
                yield Document(text_key(text), text, {"source": src, "id": str(file.relative_to(path))})
        elif path.is_file() and path.name.endswith((".jsonl", ".jsonl.gz")):
            for lineno, row in iter_jsonl(path, "source", f'row (a JSON object with a string "{text_field}")'):
                text = row.get(text_field)
                if not isinstance(text, str):
                    raise CodebabelError(f"{path}:{lineno}: no string \"{text_field}\" field; set the recipe's "
                                         "text_key to the field that holds the code")
                yield Document(text_key(text), text, {"source": src, "id": str(row.get("id", lineno))})
        elif path.is_file() and path.suffix == ".py":
            text = read_text(path, "source")
            yield Document(text_key(text), text, {"source": src, "id": path.name})
        elif not path.exists():
            raise CodebabelError(f"source {src}: no such file or folder; pass a corpus folder (codebabel corpus build "
                                 "--language py), a .jsonl file, a folder or a .py file")
        else:
            raise CodebabelError(f"source {src}: not a corpus folder, a folder, a .py file or a .jsonl[.gz] file")


# -- one function ---------------------------------------------------------------------------------------------------

def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``fn``'s own body: nested functions, lambdas and classes are other scopes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _returns_value(node: ast.Return) -> bool:
    return node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None)


def function_reason(fn: ast.AST, source: str, max_lines: int = 60) -> str | None:
    """Why a top-level function is dropped (the first failing check), or None to keep it (before decontamination
    and the type check)."""
    if isinstance(fn, ast.AsyncFunctionDef):
        return "async"
    assert isinstance(fn, ast.FunctionDef)
    if fn.decorator_list:
        return "decorated"
    doc = ast.get_docstring(fn)
    if not doc or not doc.strip():
        return "no_docstring"
    if not source.isascii():
        return "not_ascii"
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
        return "signature"
    if not a.args:
        return "no_parameters"
    own = list(_own_nodes(fn))
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own):
        return "generator"
    if not any(isinstance(n, ast.Return) and _returns_value(n) for n in own):
        return "no_return_value"
    body = fn.body[1:]  # past the docstring
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant | ast.Name):
        return "trivial_body"
    if source.count("\n") > max_lines:
        return "too_long"
    return None


def extract(text: str) -> list[tuple[str, str, ast.AST]]:
    """``(name, source, node)`` of every top-level function of a module (decorators included in the source);
    raises SyntaxError (and ValueError, RecursionError) where the text does not parse."""
    tree = ast.parse(text)
    lines = text.splitlines()
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            source = "\n".join(lines[start - 1:node.end_lineno]) + "\n"
            out.append((node.name, source, node))
    return out


# -- the type check -------------------------------------------------------------------------------------------------

MYPY_FLAGS = ("--check-untyped-defs", "--ignore-missing-imports", "--follow-imports=silent", "--no-error-summary",
              "--no-color-output", "--show-error-codes", "--cache-dir", os.devnull)
_MYPY_LINE = re.compile(r"^(?P<path>.*?):(?P<line>\d+): error: (?P<msg>.*)$")


def mypy_version() -> str:
    try:
        from mypy.version import __version__
    except ImportError:
        raise CodebabelError("functions.type_check mypy: mypy is not installed (pip install mypy, or run "
                             "scripts/setup.sh); or set functions.type_check=none") from None
    return __version__


def type_check(sources: dict[str, str]) -> dict[str, str | None]:
    """mypy's first error for each function (``{id: message or None}``), every function alone in its own module,
    all of them checked in one mypy call."""
    mypy_version()
    from mypy import api

    if not sources:
        return {}
    with tempfile.TemporaryDirectory(prefix="codebabel-mypy-") as tmp:
        config = Path(tmp) / "mypy.ini"
        config.write_text("[mypy]\n")
        paths = {}
        for i, (fid, source) in enumerate(sources.items()):
            p = Path(tmp) / f"f{i}.py"
            p.write_text(source)
            paths[str(p)] = fid
        out, err, status = api.run([*paths, *MYPY_FLAGS, "--config-file", str(config),
                                    "--python-version", f"{sys.version_info.major}.{sys.version_info.minor}"])
        verdicts: dict[str, str | None] = dict.fromkeys(sources)
        for line in out.splitlines():
            m = _MYPY_LINE.match(line)
            if m and m.group("path") in paths:
                fid = paths[m.group("path")]
                if verdicts[fid] is None:
                    verdicts[fid] = m.group("msg").strip()
        if status == 2 and len(sources) > 1:  # mypy itself failed (a crash on one file): one call per function
            return {fid: next(iter(type_check({fid: src}).values())) for fid, src in sources.items()}
        if status == 2:
            return {fid: f"mypy failed: {(err or out).strip().splitlines()[-1:] or ['no output']}" for fid in sources}
        return verdicts


# -- the stage ------------------------------------------------------------------------------------------------------

def stage_settings(r: SynthRecipe) -> dict:
    f = r.functions
    return {"stage": "functions", "version": VERSION, "sources": [str(Path(s).expanduser().resolve()) for s in r.sources],
            "text_key": r.text_key, "max_lines": f.max_lines,
            "type_check": f"mypy {mypy_version()}" if f.type_check == "mypy" else "none",
            "decontaminate": asdict(DecontamConfig()) if f.decontaminate else None}


@dataclass
class FunctionsResult:
    stage: StageDir
    selected: list[dict]  # the kept candidates handed to the tests stage, in corpus order
    summary: dict


def run_functions(r: SynthRecipe, progress, log: Callable[[str], None] = lambda _: None) -> FunctionsResult:
    stage = StageDir(r.run_dir, "1-functions", stage_settings(r))
    documents, candidates, verdicts = stage.log("documents"), stage.log("candidates"), stage.log("functions")
    stage.note_partial(log)
    decontaminate = _Decontaminator() if r.functions.decontaminate else None
    limit, max_docs = r.functions.limit, r.functions.max_documents
    order: list[str] = []  # candidates that passed the checks above the type check, first occurrence, in order
    pending: dict[str, str] = {}
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    n_kept = 0
    bar = progress.add_task("functions: read documents", total=None)
    t0 = time.monotonic()

    def flush() -> None:
        nonlocal n_kept
        found = type_check(pending) if r.functions.type_check == "mypy" else dict.fromkeys(pending)
        for fid in pending:  # in order
            msg = found[fid]
            verdicts.append({"task_id": fid, "sample": 0, "kept": msg is None,
                             "reason": None if msg is None else "type_check", "detail": msg})
            n_kept += msg is None
        pending.clear()

    try:
        for doc in iter_documents(r.sources, r.text_key):
            if max_docs is not None and counts["documents"] >= max_docs:
                break
            if limit is not None and not pending and n_kept >= limit:
                break
            counts["documents"] += 1
            rec = documents.records.get((doc.key, 0))
            if rec is None:
                rec = _scan(doc, candidates, decontaminate, r.functions.max_lines)
                documents.append(rec)
            if rec.get("error"):
                counts["documents_unparseable"] += 1
            for fid in rec["functions"]:
                if fid in seen:
                    counts["duplicate"] += 1
                    continue
                seen.add(fid)
                cand = candidates.records[(fid, 0)]
                if cand["reason"] is not None:
                    continue
                order.append(fid)
                verdict = verdicts.records.get((fid, 0))
                if verdict is None:
                    pending[fid] = cand["source"]
                else:
                    n_kept += bool(verdict["kept"])
            batch = TYPECHECK_BATCH if limit is None else min(TYPECHECK_BATCH, max(8, 2 * (limit - n_kept)))
            if len(pending) >= batch:
                flush()
            progress.advance(bar)
        if pending:
            flush()
        progress.update(bar, total=counts["documents"], completed=counts["documents"])
    finally:
        stage.close()
    kept = [fid for fid in order if verdicts.records[(fid, 0)]["kept"]]
    chosen = kept[:limit] if limit is not None else kept
    selected = [{**candidates.records[(fid, 0)], "id": fid} for fid in chosen]
    reasons: Counter[str] = Counter()
    for fid in seen:
        cand = candidates.records[(fid, 0)]
        if cand["reason"] is not None:
            reasons[cand["reason"]] += 1
        elif (fid, 0) in verdicts.records and not verdicts.records[(fid, 0)]["kept"]:
            reasons["type_check"] += 1
    summary = {"stage": "functions", "dir": str(stage.dir), "documents": counts["documents"],
               "documents_unparseable": counts["documents_unparseable"], "candidates": len(seen),
               "duplicates": counts["duplicate"], "dropped": dict(reasons.most_common()), "kept": len(kept),
               "selected": len(selected), "limit": limit,
               "seconds": round(stage.read_summary().get("seconds", 0.0) + time.monotonic() - t0, 2)}
    stage.write_summary(summary)
    log(f"functions: {summary['candidates']} candidates in {summary['documents']} documents, {summary['kept']} kept, "
        f"{len(selected)} selected")
    return FunctionsResult(stage, selected, summary)


def _scan(doc: Document, candidates, decontaminate, max_lines: int) -> dict:
    """Extract and check one document's functions; their records are stored before the document's."""
    try:
        found = extract(doc.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return {"task_id": doc.key, "sample": 0, "origin": doc.origin, "functions": [],
                "error": f"{type(e).__name__}: {e}"[:200]}
    ids = []
    for name, source, node in found:
        fid = function_id(name, source)
        ids.append(fid)
        if (fid, 0) in candidates.records:
            continue
        reason = function_reason(node, source, max_lines)
        detail = None
        if reason is None and decontaminate is not None:
            detail = decontaminate(fid, source)
            reason = "contaminated" if detail else None
        candidates.append({"task_id": fid, "sample": 0, "name": name, "source": source,
                           "origin": {**doc.origin, "line": node.lineno}, "reason": reason, "detail": detail})
    return {"task_id": doc.key, "sample": 0, "origin": doc.origin, "functions": ids, "error": None}


class _Decontaminator:
    """The corpus decontamination on one function (built on first use: it translates HumanEval once)."""

    def __init__(self):
        self._filter = None

    def __call__(self, fid: str, source: str) -> str | None:
        from datatrove.data import Document as DtDocument

        from codebabel.data.decontaminate import Decontaminate

        if self._filter is None:
            self._filter = Decontaminate()
        doc = DtDocument(text=source, id=fid)
        reason = self._filter.reason(doc)
        return f"{reason}: {doc.metadata.get('contaminated_by')}" if reason else None
