"""Scala (Debian's Scala 2.11 on OpenJDK 17): MultiPL-E's ``scala`` target, compiled with the Scala compiler
and run on the JVM with the Scala library on the class path.

MultiPL-E's layout: ``import scala.math._``, ``import scala.collection.mutable._``, ``object Problem {``, the
docstring as ``//`` comments and ``def f(a : A) : R = {``; the stop token ``"\\n    }\\n"`` cuts the
method's closing brace, so the harness starts with it, adds the equality helper and ``main``, and closes the
object. Types as in MultiPL-E (Long, String, Boolean, List, Map — mutable, by the import —, tuples, Option)
except that Python floats are ``Double``; unions and ``Any`` are ``Any`` (MultiPL-E uses ``Either`` for
two-member unions; ``Any`` also holds the three-member ones and compares with ``==``).

The compiler is started as ``java ... scala.tools.nsc.Main`` rather than through the ``scalac`` shell script:
the same compiler, with the JVM options of ``languages/java.py`` (C1 only, bounded reservations), which make
it start about a third faster. Programs run with ``java -cp scala-library.jar:.``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from codebabel.languages.base import DONE_MARKER, RunSpec
from codebabel.languages.java import JVM_COMPILER_OPTIONS, JVM_ENV, JVM_OPTIONS, JvmTarget
from codebabel.languages.render import harness_code
from codebabel.languages.types import Type, Untranslatable

_IMPORTS = "import scala.math._\nimport scala.collection.mutable._\n"

# ``Seq`` and ``Map`` name the mutable collections under MultiPL-E's import: the helper names the general ones.
# Written with isInstanceOf and loops, not pattern matching and closures: scalac compiles it several times faster.
_HELPERS = harness_code("scala.scala")["helpers"]


class Scala(JvmTarget):
    name, display_name, extensions = "scala", "Scala", (".scala", ".sc")
    fence = tree_sitter = "scala"
    apt_packages, toolchain = ("scala", "openjdk-17-jdk-headless"), ("scalac", "java")
    source_dirs = ("/usr/share/scala/src",)
    doc_terms = {"array": "list", "arrays": "lists", "dictionary": "map", "dictionaries": "maps", "True": "true",
                 "False": "false"}
    reserved = frozenset({
        "abstract", "case", "catch", "class", "def", "do", "else", "extends", "false", "final", "finally",
        "for", "forSome", "if", "implicit", "import", "lazy", "macro", "match", "new", "null", "object",
        "override", "package", "private", "protected", "return", "sealed", "super", "this", "throw", "trait",
        "try", "true", "type", "val", "var", "while", "with", "yield", "_", "main", "Problem"})
    # scalac 2.11: "Problem.scala:5: error: ';' expected but ')' found."
    syntax_error_patterns = (
        r"error: .* expected but .* found", r"error: illegal start of ", r"error: unclosed ",
        r"error: expected class or object definition", r"error: illegal character",
        r"error: Invalid literal number", r"error: malformed ", r"error: invalid escape character",
        r"error: unbound placeholder parameter", r"error: incomplete ",
    )
    type_error_patterns = (
        r"error: type mismatch", r"error: overloaded method .* cannot be applied to",
        r"error: .* does not take (type )?parameters", r"error: too many arguments",
        r"error: not enough arguments", r"error: value .* is not a member of ",
        r"error: polymorphic expression cannot be instantiated", r"error: inferred type arguments .* do not conform",
        r"error: scrutinee is incompatible with pattern type", r"error: pattern type is incompatible",
    )
    type_names = {"int": "Long", "float": "Double", "bool": "Boolean", "str": "String", "union": "Any", "any": "Any",
                  "unknown": "Any"}
    type_formats = {"list": "List[{0}]", "dict": "Map[{0},{1}]", "tuple": "Tuple{n}[{args}]", "optional": "Option[{0}]"}
    list_brackets = dict_brackets = ("{type}(", ", ", ")")
    entry_format = "{} -> {}"
    prompt_format = _IMPORTS + "object Problem {{\n{doc}    def {name}({params}) : {returns} = {{\n"
    param_format = "{name} : {type}"
    harness_head = ("    }", _HELPERS + "    def main(args : Array[String]) : Unit = {")
    harness_tail = (f'        println("{DONE_MARKER}")', "    }", "}")
    check_line = "        __codebabelCheck(__codebabelEq({call}, {expected}), {i})"
    stub_format = "        return {value}"

    def type_name(self, t: Type) -> str:
        if t.kind == "tuple" and not 1 < len(t.args) <= 22:
            raise Untranslatable(f"a tuple of {len(t.args)} elements")
        return super().type_name(t)

    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return "None" if value is None else f"Some({self.render(value, t.elem, ctx)})"

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        self.type_name(t)
        return f"({', '.join(items)})"

    # -- execution --------------------------------------------------------------------------------------------
    @cached_property
    def lib_dir(self) -> str:
        """Where the Scala jars are: ``<scala home>/lib`` of the ``scalac`` on PATH (Debian: /usr/share/scala-2.11)."""
        scalac = shutil.which("scalac")
        if scalac is not None:
            lib = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(scalac))), "lib")
            if os.path.isfile(os.path.join(lib, "scala-library.jar")):
                return lib
        return "/usr/share/scala/lib"

    def run_spec(self, program: str) -> RunSpec:
        lib = self.lib_dir
        library = os.path.join(lib, "scala-library.jar")
        compiler_cp = ":".join(os.path.join(lib, j) for j in ("scala-compiler.jar", "scala-library.jar",
                                                             "scala-reflect.jar"))
        scalac = ["java", *JVM_COMPILER_OPTIONS, "-cp", compiler_cp, "scala.tools.nsc.Main",
                  "-encoding", "UTF-8", "-nowarn", "-classpath", library, "-d", ".", "Problem.scala"]
        run = ["java", *JVM_OPTIONS, "-cp", f"{library}:.", "Problem"]
        ro = () if lib.startswith("/usr/") else (lib,)
        return RunSpec(files={"Problem.scala": program}, compile=scalac, run=run, ro_paths=ro, env=dict(JVM_ENV))
