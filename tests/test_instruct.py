"""The ``instruct`` prompt format: an instruct model's reply (a whole function in a code block, with blank lines,
helpers, a ``main`` or example calls around it) becomes a completion the benchmark's harness runs."""

import pytest

from codebabel.benchmarks import load_benchmark
from codebabel.config import ExecutionConfig
from codebabel.execute.runner import Job, run_many
from codebabel.execute.status import Status
from codebabel.generate.instruct import extract_code, instruct_prompt, sanitise, splice
from tests.langkit import require_toolchain


def _problem(lang: str, task: str = "HumanEval/2"):
    return next(p for p in load_benchmark("humaneval", lang) if p.task_id == task)


def _run(problem, completion: str, whole: bool = False) -> Status:
    [out] = list(run_many([Job("x", problem.language, problem.program(completion, whole=whole))],
                          ExecutionConfig(timeout_s=60, workers=1)))
    return out.status


def test_python_reply_keeps_imports_and_helpers_and_drops_example_calls():
    p = _problem("py")
    reply = ("import math\n\n\ndef frac(x):\n    return x - math.floor(x)\n\n\n" + p.prompt
             + "    y = frac(number)\n\n    return y\n\n\nif __name__ == '__main__':\n"
             "    print(truncate_number(3.5))\n    raise SystemExit(3)\n```\nThis function returns the fraction.")
    completion = splice(p, reply)
    assert "SystemExit" not in completion and "This function" not in completion
    assert _run(p, completion) == Status.OK


def test_python_body_in_two_space_indent_is_reindented_under_the_prompts_docstring():
    p = _problem("py")
    reply = "def truncate_number(number: float) -> float:\n  whole = int(number)\n\n  return number - whole\n"
    assert _run(p, splice(p, reply)) == Status.OK


@pytest.mark.parametrize("name", ["js", "lua", "rb", "pl", "php", "r", "rkt", "ml", "sh", "cpp", "java", "cs"])
def test_a_whole_function_with_blank_lines_and_a_main_after_it_runs_as_a_completion(name):
    """The reply: the function at column 0 with a blank line inside its body (MultiPL-E's ``\\n\\n`` stop would
    cut it), the closing line, then code that must not reach the program (``main``, prints, prose)."""
    require_toolchain(name)
    p = _problem(name)
    header = next(ln for ln in p.prompt.splitlines()
                  if p.entry_point in ln and not ln.lstrip().startswith(("//", "#", "--", ";", "*", "(*")))
    body = p.stub.rstrip("\n").splitlines()
    closes = len(body) > 1 and not body[-1].startswith(" ")  # `}` / `end` in the stub: the completion closes
    inner, close = (body[:-1], body[-1]) if closes else (body, "}" if header.rstrip().endswith("{") else None)
    lines = [header.strip(), *inner[:1], "", *inner[1:]]
    if close:
        lines.append(close)
    reply = "\n".join(lines) + "\n\nthis line is not code and must be dropped\n```\nExplanation follows."
    completion = splice(p, reply)
    assert "not code" not in completion
    # the stub returns a default value: the program compiles and runs, and the first assertion fails
    assert _run(p, completion) == Status.ASSERTION_FAILED, p.program(completion)


def test_csharp_brace_on_its_own_line_and_a_class_around_the_method():
    require_toolchain("cs")
    p = _problem("cs")
    reply = ("using System;\n\nclass Problem\n{\n    public static double truncate_number(double number)\n    {\n"
             "        double whole = Math.Floor(number);\n\n        return number - whole;\n    }\n\n"
             "    static void Main(string[] args)\n    {\n        Console.WriteLine(truncate_number(3.5));\n    }\n}\n")
    assert _run(p, splice(p, reply)) == Status.OK


def test_code_is_taken_from_the_first_code_block_or_up_to_the_closing_fence():
    assert extract_code("Here:\n```python\nx = 1\n```\nand\n```python\ny = 2\n```") == "x = 1\n"
    assert extract_code("x = 1\n```\nprose") == "x = 1\n"
    assert extract_code("x = 1\n") == "x = 1\n"


def test_the_prompt_asks_for_a_fenced_function_and_opens_the_fence():
    from tests.tiny import build_tiny_tokenizer

    tok = build_tiny_tokenizer()
    text, stops = instruct_prompt(tok, _problem("lua"))
    assert "self-contained Lua script" in text and text.endswith("```lua\n") and stops == ["```"]


_JAVA_PRIME_FIB = """import java.util.*;

class Problem {
    public static long primeFib(long n) {
        long a = 0, b = 1;
        long found = 0;
        while (true) {
            long c = a + b;
            a = b;
            b = c;

            if (isPrime(c) && ++found == n) {
                return c;
            }
        }
    }

    // isPrime: trial division
    private static boolean isPrime(long x)
    {
        if (x < 2) return false;
        for (long d = 2; d * d <= x; d++) {
            if (x % d == 0) return false;
        }
        return true;
    }

    public static void main(String[] args) {
        System.out.println(primeFib(3));
    }
}
"""


def test_a_java_helper_method_beside_the_function_is_kept_and_main_is_dropped():
    """A helper method the reply wrote after the function (with its brace on a line of its own) goes into the
    class before the prompt's method; the reply's ``main`` does not reach the program."""
    require_toolchain("java")
    p = _problem("java", "HumanEval/39")
    sample = sanitise(p, _JAVA_PRIME_FIB)
    assert sample["whole_program"] and "isPrime(long x)" in sample["completion"]
    assert "System.out.println(primeFib(3))" not in sample["completion"]
    assert _run(p, sample["completion"], whole=True) == Status.OK
    # without the helper (what the splice alone gives) the program does not compile
    assert _run(p, splice(p, _JAVA_PRIME_FIB)) != Status.OK


def test_a_cpp_helper_above_the_function_is_declared_before_it_and_a_test_function_is_dropped():
    require_toolchain("cpp")
    p = _problem("cpp", "HumanEval/39")
    reply = ("#include <cmath>\n\nbool is_prime(long x) {\n    if (x < 2) return false;\n"
             "    for (long d = 2; d * d <= x; d++) if (x % d == 0) return false;\n    return true;\n}\n\n"
             "long prime_fib(long n) {\n    long a = 0, b = 1, found = 0;\n    while (true) {\n"
             "        long c = a + b; a = b; b = c;\n        if (is_prime(c) && ++found == n) return c;\n    }\n}\n\n"
             "void test_prime_fib() {\n    assert(prime_fib(1) == 2);\n}\n\nint main() {\n    test_prime_fib();\n"
             "    return 0;\n}\n\nvoid cut_by_the_token_budget() {\n    int x = 1;\n")
    sample = sanitise(p, reply)
    assert "bool is_prime(long x)" in sample["completion"]
    assert "test_prime_fib" not in sample["completion"] and "cut_by_the_token_budget" not in sample["completion"]
    assert _run(p, sample["completion"], whole=True) == Status.OK


def test_a_go_reply_with_its_own_package_and_import_block_compiles_and_keeps_its_helper():
    """Go replies repeat the prompt's ``package main`` and ``import (...)`` block: the block is not a helper (a
    second import of a package does not compile, which cost Qwen every Go problem, 0/161), the helper is kept,
    and a compile error's message reaches the row whichever stream the compiler wrote it to (gc: stdout)."""
    require_toolchain("go")
    p = _problem("go", "HumanEval/39")
    reply = ('package main\n\nimport (\n\t"fmt"\n\t"math"\n)\n\nfunc isPrime(x int) bool {\n\tif x < 2 {\n'
             '\t\treturn false\n\t}\n\tfor d := 2; float64(d) <= math.Sqrt(float64(x)); d++ {\n'
             '\t\tif x%d == 0 {\n\t\t\treturn false\n\t\t}\n\t}\n\treturn true\n}\n\n'
             'func prime_fib(n int) int {\n\ta, b, found := 0, 1, 0\n\tfor {\n\t\ta, b = b, a+b\n'
             '\t\tif isPrime(b) {\n\t\t\tfound++\n\t\t\tif found == n {\n\t\t\t\treturn b\n\t\t\t}\n'
             '\t\t}\n\t}\n}\n\nfunc main() {\n\tfmt.Println(prime_fib(3))\n}\n')
    sample = sanitise(p, reply)
    assert sample["whole_program"] and "func isPrime(x int) bool" in sample["completion"]
    assert sample["completion"].count("import (") == 1 and "fmt.Println(prime_fib" not in sample["completion"]
    assert _run(p, sample["completion"], whole=True) == Status.OK
    twice = p.program(sample["completion"].replace("import (", 'import "fmt"\nimport (', 1), whole=True)
    [out] = list(run_many([Job("x", p.language, twice)], ExecutionConfig(timeout_s=60, workers=1)))
    assert out.status == Status.COMPILE_ERROR and "fmt redeclared" in out.stderr


def test_a_reply_without_helpers_stays_a_completion():
    p = _problem("js", "HumanEval/2")
    assert sanitise(p, "function truncate_number(number){\n  return number % 1.0;\n}\n") == {
        "completion": "  return number % 1.0;\n}\n"}


def test_stored_replies_are_read_again_by_a_fixed_sanitiser_and_only_their_changed_programs_run_again(tmp_path):
    """A results folder written by an older sanitiser: the sample whose reading changes gets the new completion
    and loses its result (it runs again); the other keeps both; the files on disk say the same."""
    from codebabel.evaluate.functional import _resanitise
    from codebabel.store import JsonlLog, RunStore

    p = _problem("java", "HumanEval/39")
    q = _problem("java", "HumanEval/2")
    q_reply = "public static double truncateNumber(double number) {\n    return number % 1.0;\n}\n"
    store = RunStore(tmp_path, {"run": "old"}, "humaneval-java-m")
    old = {"task_id": p.task_id, "sample": 0, "completion": splice(p, _JAVA_PRIME_FIB), "reply": _JAVA_PRIME_FIB}
    same = {"task_id": q.task_id, "sample": 0, "completion": splice(q, q_reply), "reply": q_reply}
    for rec in (old, same):
        store.completions.append(dict(rec))
        store.results.append({**rec, "status": "compile_error", "passed": False})
    assert _resanitise(store, {p.task_id: p, q.task_id: q}) == 1
    store.close()
    completions, results = JsonlLog(store.dir / "completions.jsonl"), JsonlLog(store.dir / "results.jsonl")
    assert completions.records[(p.task_id, 0)]["whole_program"] is True
    assert (p.task_id, 0) not in results.records and (q.task_id, 0) in results.records
    assert completions.records[(q.task_id, 0)]["completion"] == same["completion"]
