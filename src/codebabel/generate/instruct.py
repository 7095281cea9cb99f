"""The ``instruct`` prompt format: how evalplus and the Qwen2.5-Coder report evaluate instruct models.

The problem goes to the model as a user message asking for a complete, self-contained function in a fenced
code block (evalplus's instruction, with the language named); the assistant turn opens with evalplus's
response prefix and the code fence, so the reply is code up to the closing fence (the stop sequence).

The reply is then *sanitised* into a completion that continues the benchmark prompt, so it runs with the same
test harness as every other format (:func:`splice`): the code block is taken out of the reply, the definition
of the entry point found in it, and its body kept — from the line after the header to the line that closes the
function, found by indentation rather than by the stop sequences (an instruct model writes blank lines inside
a function, which ``\\n\\n`` stops would cut). Where the benchmark's stub ends with the function's closing line
(``}``, ``end``), the closing line is kept too; otherwise the harness closes the function. Code the language
can take after the function (Python's imports, helper functions and classes: :meth:`Language.hoisted`) is
appended. In the other languages a reply's helper definitions (functions or methods written beside the entry
point at its own indentation: ``isPrime`` in a Java class, a C++ function above it, a Lua ``local function``)
go before the prompt's function, where every language accepts them, and the sample becomes a whole program
(:func:`sanitise`). Anything else outside the function (a ``main``, example calls, prints) is dropped.
"""

from __future__ import annotations

import re

from codebabel.benchmarks import Problem
from codebabel.generate.prompts import chat_prompt
from codebabel.languages.base import Language

INSTRUCTION = "Please provide a self-contained {language} script that solves the following problem in a markdown " \
              "code block:"
RESPONSE_PREFIX = "Below is a {language} script with a self-contained function that solves the problem and passes " \
                  "corresponding tests:"
_CLOSED_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.S)
_COMMENT = ("//", "#", "--", ";", "*", "/*", "(*", "%")


def _user(language: Language, prompt: str) -> str:
    return f"{INSTRUCTION.format(language=language.display_name)}\n```{language.fence}\n{prompt.strip()}\n```\n"


def _reply_start(language: Language) -> str:
    return f"{RESPONSE_PREFIX.format(language=language.display_name)}\n```{language.fence}\n"


def instruct_prompt(tokenizer, problem: Problem) -> tuple[str, list[str]]:
    """``(text to feed the model, extra stop sequences)`` for ``problem`` in the instruct format."""
    return chat_prompt(tokenizer, _user(problem.language, problem.prompt), _reply_start(problem.language),
                       "instruct")


def instruct_messages(language: Language, prompt: str, code: str) -> list[dict]:
    """A training conversation in the instruct format: the user message :func:`instruct_prompt` asks with for
    ``prompt``, and an assistant reply that is the opening of the reply the prompt starts, ``code`` (the whole
    function) and the closing fence — what a model evaluated with ``--prompt-format instruct`` should answer."""
    return [{"role": "user", "content": _user(language, prompt)},
            {"role": "assistant", "content": f"{_reply_start(language)}{code.rstrip()}\n```"}]


def extract_code(reply: str) -> str:
    """The code of a reply: the first fenced block that holds code, else the reply itself (a reply whose
    opening fence was in the prompt is code up to its closing fence)."""
    if "```" not in reply:
        return reply
    blocks = [b for b in _CLOSED_FENCE.findall(reply) if b.strip()]
    if blocks:
        return blocks[0]
    return reply.partition("```")[0]  # the prompt opened the fence: the reply is code up to the first fence


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _header(prompt: str, name: str) -> tuple[str, str]:
    """The prompt's header line (of the lines naming the entry point outside comments, the last of the least
    indented: not a docstring's example) and the character that ends it."""
    lines = [ln for ln in prompt.splitlines()
             if re.search(rf"\b{re.escape(name)}\b", ln) and not ln.lstrip().startswith(_COMMENT)]
    header = min(reversed(lines), key=_indent).rstrip() if lines else prompt.rstrip().splitlines()[-1]
    return header, header[-1:] if header else ""


def _reindent(body: list[str], base: int, prompt: str, header: str) -> list[str]:
    """Body lines moved under the prompt's header (a method sits deeper in a class), and their levels scaled to
    the prompt's body where the prompt has one (a Python docstring at 4 spaces, a reply at 2)."""
    after = prompt[prompt.rindex(header) + len(header):].splitlines()
    want = next((_indent(ln) for ln in after if ln.strip()), None)
    have = next((_indent(ln) for ln in body if ln.strip()), None)
    top = _indent(header)
    scale = 1.0
    if want is not None and have is not None and want > top and have > base:
        scale = (want - top) / (have - base)
    return [" " * (top + max(0, round((_indent(ln) - base) * scale))) + ln.lstrip() if ln.strip() else ""
            for ln in body]


def splice(problem: Problem, reply: str) -> str:
    """The completion (continuing ``problem.prompt``) that a sanitised instruct ``reply`` amounts to, without
    the helpers :func:`sanitise` places before the function."""
    return _sanitised(problem, reply)[0]


def sanitise(problem: Problem, reply: str) -> dict:
    """The sample an instruct ``reply`` amounts to: ``{"completion": ...}`` continuing ``problem.prompt``, or,
    where the reply defines helpers the function calls and the language needs them declared first, the whole
    program up to the tests (``{"completion": ..., "whole_program": True}``)."""
    completion, helpers = _sanitised(problem, reply)
    if not helpers:
        return {"completion": completion}
    at = _before_header(problem.prompt, problem.entry_point)
    return {"completion": problem.prompt[:at] + helpers + "\n\n" + problem.prompt[at:] + completion,
            "whole_program": True}


def _before_header(prompt: str, name: str) -> int:
    """Where a definition may go in ``prompt``: the start of the comment block above its function's header."""
    header, _ = _header(prompt, name)
    lines = prompt[:prompt.rindex(header)].splitlines(keepends=True)
    while lines and lines[-1].strip().startswith(_COMMENT) and _indent(lines[-1]) == _indent(header):
        lines.pop()
    return sum(map(len, lines))


# a helper's first line: a definition keyword (def, function, fn, func, sub, let, proc, define, Lua's local
# function), a typed C-family header (`static bool IsPrime(long n) {`), or a function bound to a name (JS's
# `const f = (x) =>`, R's `f <- function(x)`); never a control statement, nor Go's `import (` block (the prompt
# imports what a solution may use; a second import of a package does not compile)
_DEFINITION = re.compile(
    r"(?:(?:public|private|protected|internal|static|final|inline|constexpr|virtual|override|async|export|unsafe"
    r"|pub(?:\(crate\))?)\s+)*"
    r"(?:(?:def|function|local\s+function|fn|func|sub|let(?:\s+rec)?|proc|fun|\(define)\b"
    r"|(?!(?:if|else|for|foreach|while|do|switch|return|catch|using|new|throw|case|import)\b)"
    r"[\w:<>\[\],.*&? ]*?\b\w+\s*\([^;]*$"
    r"|(?:const\s+|let\s+|var\s+)?\$?\w+\s*(?:<-|=)\s*(?:function\b|\([^)]*\)\s*=>|\w+\s*=>))")
_CLOSER = re.compile(r"[\s)\]}]*(?:end)?[\s)\]};,]*")
_MAIN = re.compile(r"\b(?:main|Main)\b")


def _helpers(lines: list[str], skip: range, base: int, name: str, top: int) -> str:
    """The definitions in ``lines`` (outside ``skip``, the entry point's lines) at indentation ``base`` that have
    a body, moved to indentation ``top``; a reply's ``main``, its tests (definitions that call the function) and
    code that only calls the function are left."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in skip or not line.strip() or _indent(line) != base or line.lstrip().startswith(_COMMENT) \
                or not _DEFINITION.match(line.strip()) or _MAIN.search(line) \
                or re.search(rf"\b{re.escape(name)}\b", line):
            i += 1
            continue
        j = i + 1
        if j < len(lines) and j not in skip and lines[j].strip() == "{" and _indent(lines[j]) == base:
            j += 1  # the opening brace on a line of its own
        while j < len(lines) and j not in skip and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        closed = j < len(lines) and j not in skip and _indent(lines[j]) == base and _CLOSER.fullmatch(lines[j].strip())
        if closed:
            j += 1  # its closing line: `}`, `end`, `};`
        block = lines[i:j]
        while block and not block[-1].strip():
            block.pop()
        if j >= len(lines) and not closed and not block[-1].rstrip().endswith(")"):
            i = j  # runs to the end of the reply unclosed: cut by the token budget
            continue
        calls = any(re.search(rf"\b{re.escape(name)}\b", ln) for ln in block)  # a test of the function
        if len(block) > 1 and not calls:  # a body: not an example call or a one-line declaration
            out.append("\n".join((" " * (top + _indent(ln) - base) + ln.lstrip()) if ln.strip() else ""
                                  for ln in block))
        i = max(j, i + 1)
    return "\n\n".join(out)


def _sanitised(problem: Problem, reply: str) -> tuple[str, str]:
    """``(completion, helpers to place before the function)`` of an instruct ``reply``."""
    code = extract_code(reply).replace("\t", "    ") if problem.language.fence != "go" else extract_code(reply)
    lines = code.splitlines()
    name = problem.entry_point
    word = re.compile(rf"\b{re.escape(name)}\b")
    start = next((i for i, ln in enumerate(lines)
                  if word.search(ln) and not ln.lstrip().startswith(_COMMENT)), None)
    lead = "" if problem.prompt.endswith("\n") else "\n"
    if start is None:  # no definition of the entry point: the reply may be the body alone
        return lead + code.rstrip("\n") + "\n", ""
    header, end_char = _header(problem.prompt, name)
    body_from = start + 1
    if end_char in "{:=" and end_char and not lines[start].rstrip().endswith(end_char):
        # a header over several lines, or an opening brace on a line of its own
        for j in range(start + 1, min(start + 8, len(lines))):
            if lines[j].rstrip().endswith(end_char):
                body_from = j + 1
                break
    base = _indent(lines[start])
    end = body_from
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    body = lines[body_from:end]
    while body and not body[-1].strip():
        body.pop()
    body = _reindent(body, base, problem.prompt, header)
    stub = (problem.stub or "").rstrip("\n").splitlines()
    if stub and _indent(stub[-1]) == 0 and end < len(lines):  # the completion closes the function itself
        body.append(stub[-1] if lines[end].strip() == stub[-1].strip() else lines[end].strip())
    closed = end + (1 if stub and _indent(stub[-1]) == 0 else 0)
    outside = "\n".join(lines[:start] + lines[closed:])
    extra = problem.language.hoisted(outside)
    # a language that takes code after the function (Python) hoisted it above; the others get it before
    takes_after = type(problem.language).hoisted is not Language.hoisted
    helpers = "" if takes_after else _helpers(lines, range(start, closed), base, name, _indent(header))
    return lead + "\n".join(body) + "\n" + (f"\n{extra}\n" if extra.strip() else ""), helpers
