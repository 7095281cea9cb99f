"""The ``instruct`` prompt format: an instruct model's reply (a whole function in a code block, with blank lines,
helpers, a ``main`` or example calls around it) becomes a completion the benchmark's harness runs."""

import pytest

from codebabel.benchmarks import load_benchmark
from codebabel.config import ExecutionConfig
from codebabel.execute.runner import Job, run_many
from codebabel.execute.status import Status
from codebabel.generate.instruct import extract_code, instruct_prompt, splice
from tests.langkit import require_toolchain


def _problem(lang: str, task: str = "HumanEval/2"):
    return next(p for p in load_benchmark("humaneval", lang) if p.task_id == task)


def _run(problem, completion: str) -> Status:
    [out] = list(run_many([Job("x", problem.language, problem.program(completion))],
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
