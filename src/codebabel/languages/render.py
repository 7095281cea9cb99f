"""What every translated language shares: the value recursion, string escaping and the test-harness loop.

MultiPL-E's design: one translator walks the values and types of a problem, and each language is a set of hooks
(its null, booleans, numbers, strings, containers, the lines of its harness). :class:`Target` is that walk; a
language module subclasses it and keeps only what is its own (names, toolchain, literal tokens and containers,
harness lines, run commands, error patterns). docs/adding-a-language.md lists the hooks.

Two ways to render a value, chosen by :attr:`Target.by_value`:

* statically typed languages (Java, C#, C++, Rust, Go, Scala, OCaml, Swift, Julia) render by the declared
  :class:`~codebabel.languages.types.Type`: an int where a float is expected becomes a float literal, an empty
  list gets its element type, and a value of type ``any`` is rendered by its own Python type through
  :meth:`Target.any_literal`;
* dynamically typed ones (JavaScript, TypeScript, Ruby, Lua, PHP, Perl, R, Racket) render every value by its own
  Python type, as the Python tests passed it (:func:`dynamic_type`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from codebabel.languages.base import ASSERT_MARKER, FLOAT_TOLERANCE, Language, Param, RunSpec, Signature
from codebabel.languages.types import ANY, Type, Untranslatable, conforms, of_value, union_member

#: a code-point range [lo, hi) and how a character in it is escaped: a format of its code point, or a function
#: of it (which may raise Untranslatable)
CodeEscape = tuple[int, int, Any]

#: the bounds of a signed 64-bit integer
INT64 = (-(2**63), 2**63 - 1)
#: the escapes C-like string literals share
C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


#: what a harness file says in place of base.py's constants
_HARNESS_CONSTANTS = {"@ASSERT_MARKER@": ASSERT_MARKER, "@FLOAT_TOLERANCE@": repr(FLOAT_TOLERANCE)}
_HARNESS_PART = re.compile(r"^.*\bcodebabel-part: (\w+)\b.*\n", re.MULTILINE)


@cache
def harness_code(file: str) -> dict[str, str]:
    """The named parts of ``languages/harness/<file>``: code in the target language that a test harness holds
    (equality helpers, the check that reports a failed test), kept as a real source file. A part runs from its
    line ``<comment> codebabel-part: NAME`` to the next such line, trailing blank lines dropped (it ends in one
    newline); what comes before the first is the file's own comment. ``@ASSERT_MARKER@`` and
    ``@FLOAT_TOLERANCE@`` become base.py's constants."""
    text = files("codebabel.languages").joinpath("harness", file).read_text(encoding="utf-8")
    for placeholder, value in _HARNESS_CONSTANTS.items():
        text = text.replace(placeholder, value)
    pieces = _HARNESS_PART.split(text)
    return {name: body.rstrip("\n") + "\n" for name, body in zip(pieces[1::2], pieces[2::2], strict=True)}


def control(fmt: str) -> tuple[CodeEscape, ...]:
    """The ASCII control characters (below 0x20, and DEL) escaped by ``fmt`` (a format of the code point)."""
    return (0, 0x20, fmt), (0x7F, 0x80, fmt)


def quote(s: str, escapes: Mapping[str, str], codes: Sequence[CodeEscape] = (), open_: str = '"',
          close: str | None = None) -> str:
    """``s`` as a string literal: a character in ``escapes`` by its escape, one in a range of ``codes`` by the
    first range's format, anything else as it is (the source is UTF-8)."""
    out = [open_]
    for ch in s:
        if ch in escapes:
            out.append(escapes[ch])
            continue
        code = ord(ch)
        fmt = next((f for lo, hi, f in codes if lo <= code < hi), None)
        out.append(ch if fmt is None else fmt(code) if callable(fmt) else fmt.format(code))
    out.append(open_ if close is None else close)
    return "".join(out)


_KINDS = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "tuple",
          dict: "dict"}


def dynamic_type(v: Any) -> Type:
    """The type a value is rendered as by its own Python type, one level deep (elements are ``any`` again)."""
    kind = _KINDS.get(type(v))
    if kind is None:
        raise Untranslatable(f"no literal for a value of Python type {type(v).__name__}")
    if kind in ("list", "dict"):
        return Type(kind, (ANY,) if kind == "list" else (ANY, ANY))
    return Type(kind, (ANY,) * len(v) if kind == "tuple" else ())


def value_member(v: Any, t: Type) -> Type:
    """The member of union ``t`` a value is rendered as: the one of its own Python type (elements included) where
    the union has it (an int stays an int where the union also holds float), else the first that fits."""
    own = of_value(v)
    return own if own in t.args else union_member(v, t)


def kind_member(v: Any, t: Type, fits: bool = True) -> Type:
    """The member of union ``t`` a value is rendered as: the first of its own kind (that holds it, with ``fits``),
    else the first that fits."""
    kind = _KINDS.get(type(v))
    for m in t.args:
        if m.kind == kind and (not fits or conforms(v, m)):
            return m
    return union_member(v, t)


def own_type(v: Any, unseen: Type = ANY, mixed: bool = False) -> Type:
    """A value's own type (``of_value``): element types never seen become ``unseen``; with ``mixed``, unions and
    optionals inside become ``any`` (a list of mixed values is a list of Any)."""
    def fix(t: Type) -> Type:
        if t.kind == "unknown":
            return unseen
        if mixed and t.kind in ("union", "optional"):
            return ANY
        return Type(t.kind, tuple(fix(a) for a in t.args))

    return fix(of_value(v))


def spell(t: Type, names: Mapping[str, str], formats: Mapping[str, str], arg: Any = None, missing: Any = None) -> str:
    """The other recursion, over a type: its name from ``names`` (by kind), or a format from ``formats`` of the
    names of its argument types (``{0}``, ``{1}``; all of them as ``{args}`` comma-separated, ``{cat}``
    concatenated; ``{n}`` how many) or a function of their list, each spelled by ``arg`` (default: this same
    spelling). ``missing(t)`` is the exception for a kind in neither."""
    if t.kind in names:
        return names[t.kind]
    if t.kind not in formats:
        raise missing(t) if missing else Untranslatable(f"type {t} has no name here")
    parts = [arg(a) if arg else spell(a, names, formats, None, missing) for a in t.args]
    fmt = formats[t.kind]
    return fmt(parts) if callable(fmt) else fmt.format(*parts, args=", ".join(parts), cat="".join(parts), n=len(parts))


def paren_tuple(items: Iterable[str]) -> str:
    """``(a, b)``, and ``(a,)`` for one element (Rust, Julia)."""
    items = list(items)
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class Target(Language):
    """A language benchmarks are translated into: the hooks, and the one recursion and harness loop over them."""

    # -- literals: tokens and containers -----------------------------------------------------------------------
    #: render every value by its own Python type (dynamically typed languages), not by the declared type
    by_value: bool = False
    #: None (an empty optional, an Any holding None); the literal of type ``none``, where the language has one
    null: str = "null"
    unit: str | None = None
    true: str = "true"
    false: str = "false"
    #: inclusive bounds of the integer type, its name in the reason when a value does not fit, a suffix
    int_bounds: tuple[int, int] | None = None
    int_type: str = ""
    int_suffix: str = ""
    #: string literals: characters with a named escape, and code-point ranges escaped by number
    escapes: Mapping[str, str] = C_ESCAPES
    code_escapes: Sequence[CodeEscape] = ()
    #: containers as (open, separator, close), where ``{type}`` in open is the container's type name (C++:
    #: ``("{type}{", ", ", "}")``); a tuple as a list unless ``tuple_brackets`` says otherwise
    list_brackets: tuple[str, str, str] = ("[", ", ", "]")
    tuple_brackets: tuple[str, str, str] | None = None
    dict_brackets: tuple[str, str, str] = ("{", ", ", "}")
    entry_format: str = "{}: {}"
    #: the reason given for a value of a type the language cannot write ({lang}, {value!r}, {t})
    no_literal: str = "no {lang} literal for {value!r} of type {t}"

    # -- type names (statically typed languages) -------------------------------------------------------------------
    #: the name of each kind without arguments; formats of the argument types' names for the others (see spell)
    type_names: Mapping[str, str] = {}
    type_formats: Mapping[str, str] = {}
    no_type: str = "type {t} has no {lang} equivalent"

    # -- the prompt --------------------------------------------------------------------------------------------------
    #: a format of ``doc`` (the docstring as ``comment_prefix`` line comments), ``name``, ``params`` (each a
    #: ``param_format`` of its ``name`` and ``type``, joined by ``param_separator``) and ``returns`` (its type)
    prompt_format: str = ""
    comment_prefix: str = "//"
    param_format: str = "{name}"
    param_separator: str = ", "

    # -- the test harness and the stub ----------------------------------------------------------------------------
    #: first lines: the closing brace the stop token cut, the helpers (deep equality, check), the start of main
    harness_head: tuple[str, ...] = ()
    #: one test's line; fields ``i``, ``call``, ``expected`` and those of :meth:`harness_start`
    check_line: str = ""
    #: lines after the last test: print DONE_MARKER to stdout, close main
    harness_tail: tuple[str, ...] = ()
    #: the stub completion; field ``value`` is the return type's default literal
    stub_format: str = ""

    # -- execution --------------------------------------------------------------------------------------------------
    #: the program's file, and the commands that check (or compile) and run it in its folder in the sandbox
    program_file: str = ""
    compile_command: tuple[str, ...] = ()
    run_command: tuple[str, ...] = ()
    run_env: Mapping[str, str] = {}

    def type_name(self, t: Type) -> str:
        """``t`` in this language's words, e.g. ``ArrayList<Long>``; raises :class:`Untranslatable`."""
        return spell(t, self.type_names, self.type_formats, self.arg_type_name,
                     lambda u: Untranslatable(self.no_type.format(t=u, lang=self.display_name)))

    def arg_type_name(self, t: Type) -> str:
        """The name of a type inside another (Java: boxed; OCaml: a tuple in parentheses)."""
        return self.type_name(t)

    def literal(self, value: Any, t: Type) -> str:
        return self.render(value, t, None)

    def render(self, value: Any, t: Type, ctx: Any) -> str:
        """The one recursion: ``value`` as a literal of ``t``. ``ctx`` is the language's own context (what a
        container's element or a union's member must be, e.g. C++'s "elem"/"exact"), passed down unchanged
        unless :meth:`child_ctx` changes it."""
        if self.by_value:
            if value is None:
                return self.null
            t = dynamic_type(value)
        k = t.kind
        if k == "optional":
            return self.optional_literal(value, t, ctx)
        if k == "union":
            return self.union_literal(value, t, ctx)
        if k == "any":
            return self.any_literal(value, t, ctx)
        if k == "unknown":
            return self.unknown_literal(value, t, ctx)
        if k == "none":
            return self.none_literal(value, t, ctx)
        if k == "bool":
            return self.true if value else self.false
        if k == "int":
            return self.int_literal(value, ctx)
        if k == "float":
            return self.float_literal(value, ctx)
        if k == "str":
            return self.string_literal(value, ctx)
        inner = self.child_ctx(t, ctx)
        if k == "list":
            return self.list_literal((self.render(v, t.elem, inner) for v in value), value, t, ctx)
        if k == "tuple":
            items = (self.render(v, u, inner) for v, u in zip(value, t.args, strict=True))
            return self.tuple_literal(items, value, t, ctx)
        if k == "dict":
            entries = ((self.key_literal(a, t, inner), self.render(b, t.value, inner)) for a, b in value.items())
            return self.dict_literal(entries, value, t, ctx)
        raise self.untranslatable(value, t)

    def untranslatable(self, value: Any, t: Type) -> Untranslatable:
        return Untranslatable(self.no_literal.format(lang=self.display_name, value=value, t=t))

    def child_ctx(self, t: Type, ctx: Any) -> Any:
        """The context of a container's elements (and of a union's member)."""
        return ctx

    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return self.null if value is None else self.render(value, t.elem, ctx)

    def union_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return self.render(value, self.member(value, t), self.child_ctx(t, ctx))

    def member(self, value: Any, t: Type) -> Type:
        """The member of union ``t`` that ``value`` is rendered as."""
        return value_member(value, t)

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        """A value of type Any: by its own Python type (:meth:`value_type`)."""
        return self.null if value is None else self.render(value, self.value_type(value), ctx)

    def value_type(self, value: Any) -> Type:
        return dynamic_type(value)

    def unknown_literal(self, value: Any, t: Type, ctx: Any) -> str:
        raise self.untranslatable(value, t)

    def none_literal(self, value: Any, t: Type, ctx: Any) -> str:
        if self.unit is None:
            raise self.untranslatable(value, t)
        return self.unit

    def int_literal(self, value: int, ctx: Any) -> str:
        if self.int_bounds and not self.int_bounds[0] <= value <= self.int_bounds[1]:
            raise Untranslatable(f"integer {value} does not fit {self.int_type}")
        return f"{value}{self.int_suffix}"

    def float_literal(self, value: float, ctx: Any) -> str:
        return repr(float(value))  # 1.5, 1e-05, 1e+16: a double literal in every target

    def string_literal(self, value: str, ctx: Any) -> str:
        return quote(value, self.escapes, self.code_escapes)

    def key_literal(self, key: Any, t: Type, ctx: Any) -> str:
        return self.render(key, t.key, ctx)

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        return self.wrap(self.list_brackets, items, t)

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        if self.tuple_brackets is None:
            return self.list_literal(items, value, t, ctx)
        return self.wrap(self.tuple_brackets, items, t)

    def dict_literal(self, entries: Iterator[tuple[str, str]], value: Any, t: Type, ctx: Any) -> str:
        return self.wrap(self.dict_brackets, (self.entry_format.format(k, v) for k, v in entries), t)

    def wrap(self, brackets: tuple[str, str, str], items: Iterable[str], t: Type) -> str:
        """``open + sep.join(items) + close`` for a (open, sep, close) triple; the items are rendered first."""
        body = brackets[1].join(items)
        open_ = brackets[0].replace("{type}", self.type_name(t)) if "{type}" in brackets[0] else brackets[0]
        return open_ + body + brackets[2]

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = self.param_separator.join(self.param(p) for p in sig.params)
        returns = self.type_name(sig.returns) if "{returns}" in self.prompt_format else ""
        return self.prompt_format.format(doc=self.doc_comment(sig.doc), name=sig.name, params=params,
                                         returns=returns)

    def param(self, p: Param) -> str:
        typed = "{type}" in self.param_format
        return self.param_format.format(name=p.name, type=self.type_name(p.type) if typed else "")

    def doc_comment(self, lines: Sequence[str]) -> str:
        return self.comment(lines, self.comment_prefix)

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        """The harness's first lines and extra fields of ``check_line``, where they depend on the signature."""
        return list(self.harness_head), {}

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        head, fields = self.harness_start(sig)
        checks = [self.check_line.format(i=i, call=call, expected=expected, **fields)
                  for i, (call, expected) in enumerate(tests, 1)]
        return "\n".join([*head, *checks, *self.harness_tail])

    def stub(self, sig: Signature) -> str:
        return self.stub_format.format(value=self.default_literal(sig.returns))

    def run_spec(self, program: str) -> RunSpec:
        return RunSpec(files={self.program_file: program}, run=list(self.run_command),
                       compile=list(self.compile_command) or None, env=dict(self.run_env))
