"""`codebabel translate FILE` and translation's two prompt formats (issue 17): the source language detected (by
extension, by the n-gram detector fitted on data/pairs/, by the experts' gate), bad inputs as one-line errors,
the `instruct` prompt and the code read out of the reply, `--run` judging by running both programs, and
`evaluate translation` keying its cached generations on the prompt format."""

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from codebabel.cli import app
from codebabel.errors import CodebabelError
from codebabel.execute.runner import Outcome, same_behaviour
from codebabel.execute.status import Status
from codebabel.route.translate import TranslateConfig, detect_language, run_both, translate_file
from codebabel.route.translator import read_translation, translation_prompt
from tests.conftest import run_cli
from tests.langkit import require_toolchain
from tests.test_route import LANGS, random_run, tiny  # noqa: F401  (fixtures: the tiny model, random experts)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"cpp": ".cpp", "cs": ".cs", "java": ".java", "js": ".js", "php": ".php"}
#: short programs written for this test (not in data/pairs/), one per language the detector knows
OWN = {
    "cpp": "#include <iostream>\nint main() {\n    for (int i = 0; i < 3; i++) std::cout << i << std::endl;\n}\n",
    "java": "public class Main {\n    public static void main(String[] args) {\n        System.out.println(2);\n"
            "    }\n}\n",
    "cs": "using System;\nclass Program {\n    static void Main() {\n        Console.WriteLine(2);\n    }\n}\n",
    "js": "function add(a, b) { return a + b; }\nconsole.log(add(1, 2));\n",
    "php": "<?php\nfunction add($a, $b) { return $a + $b; }\necho add(1, 2) . \"\\n\";\n",
}


def _program(lang: str) -> str:
    """The source side of the first held-out pair of ``lang`` in data/pairs/."""
    for line in (ROOT / "data" / "pairs" / f"{lang}.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("split") == "test":
            return row[lang]
    raise AssertionError(f"no test pair for {lang}")


def _invoke(*args: str, stdin: str | None = None):
    r = CliRunner().invoke(app, list(args), input=stdin)
    assert r.exit_code == 0, (r.output, r.exception)
    return r


# -- detection -------------------------------------------------------------------------------------------------


def test_each_language_is_detected_by_its_extension_and_by_the_ngram_detector():
    for lang, ext in SOURCES.items():
        code = _program(lang)
        found = detect_language(code, f"prog{ext}")
        assert (found.language, found.how) == (lang, f"the file extension {ext}")
        for name in ("-", "prog.txt"):  # no extension that names a language: the n-gram detector decides
            found = detect_language(code, name)
            assert found.language == lang and "n-gram" in found.how, (lang, name)
        assert detect_language(OWN[lang], "-").language == lang  # a program it was not fitted on
        assert detect_language(code, "-", source="php").language == "php"  # --from overrides
    with pytest.raises(CodebabelError, match="Python, says the n-gram detector"):
        detect_language("def f(x):\n    return x + 1\n\nprint(f(2))\n", "-")
    with pytest.raises(CodebabelError, match="a Python file by its extension"):
        detect_language("print(1)\n", "x.py")
    # with experts the gate decides (None), but a file of a language they do not cover is refused first
    assert detect_language(OWN["cpp"], "prog.cpp", experts=LANGS, run="R") is None
    with pytest.raises(CodebabelError, match="a Java file by its extension, and the experts in R cover cpp"):
        detect_language(OWN["java"], "Main.java", experts=LANGS, run="R")
    with pytest.raises(CodebabelError, match="--from java: the experts in R cover cpp, js, php"):
        detect_language(OWN["java"], "-", source="java", experts=LANGS, run="R")


def test_cli_detects_each_language_and_prints_the_translation(tiny, tmp_path):  # noqa: F811
    for lang, ext in SOURCES.items():
        path = tmp_path / f"prog{ext}"
        path.write_text(_program(lang))
        r = _invoke("translate", str(path), "--model", str(tiny), "--max-new-tokens", "4")
        assert f"source language: {lang} (" in r.stderr and f"by the file extension {ext}" in r.stderr, r.stderr
        assert "prompt format instruct" in r.stderr  # the default without experts
        assert r.stdout.endswith("\n") and "source language" not in r.stdout  # stdout: the translation only
    r = _invoke("translate", "-", "--model", str(tiny), "--max-new-tokens", "4", "--prompt-format", "tag",
                stdin=_program("php"))
    assert "source language: php (PHP), by the n-gram detector" in r.stderr and "prompt format tag" in r.stderr


def test_cli_bad_inputs_are_one_line_errors(tmp_path):
    prog = tmp_path / "prog.cpp"
    prog.write_text(OWN["cpp"])
    r = run_cli("translate", str(prog), "--from", "klingon", timeout=120)
    assert r.returncode == 2 and "--from 'klingon': unknown language" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""
    image = tmp_path / "photo.cpp"
    image.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")  # a JPEG's first bytes
    r = run_cli("translate", str(image), timeout=120)
    assert r.returncode == 2 and "photo.cpp:1: not UTF-8 (byte 0xff at column 1)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def test_other_bad_inputs_are_refused_before_a_model_loads(tmp_path):
    def refused(match, **kw):
        with pytest.raises(CodebabelError, match=match):
            translate_file(TranslateConfig(**{"model": "no-such-model", **kw}))

    (tmp_path / "empty.js").write_text(" \n\n")
    (tmp_path / "nul.js").write_text("console.log(1)\x00\n")
    (tmp_path / "ok.js").write_text(OWN["js"])
    refused("no such file", file=str(tmp_path / "missing.js"))
    refused("empty; pass a program", file=str(tmp_path / "empty.js"))
    refused("NUL bytes", file=str(tmp_path / "nul.js"))
    refused("--from py: Python is the target", file=str(tmp_path / "ok.js"), source="python")
    refused("--experts .*no such folder", file=str(tmp_path / "ok.js"), experts=str(tmp_path / "nowhere"))
    with pytest.raises(CodebabelError, match="--to rb: only py"):
        TranslateConfig(file="x.js", to="rb")
    with pytest.raises(CodebabelError, match="--prompt-format 'chat' is unknown; use one of tag, instruct"):
        TranslateConfig(file="x.js", prompt_format="chat")
    assert TranslateConfig(file="x.js", to="python").to == "py"
    assert TranslateConfig(file="x.js").format == "instruct" and TranslateConfig(file="x", experts="r").format == "tag"


# -- the prompt formats ----------------------------------------------------------------------------------------


def test_instruct_prompt_is_a_chat_message_and_the_code_is_read_from_the_fence():
    from tests.tiny import build_tiny_tokenizer

    tok = build_tiny_tokenizer()  # a real chat template (ChatML)
    code = _program("cpp")
    text, stops = translation_prompt("instruct", tok, code, "cpp")
    assert text.startswith("<|im_start|>user\nTranslate the following C++ program into Python 3.")
    assert f"```cpp\n{code.strip(chr(10))}\n```\n<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n```python\n") and stops == ["```"]
    hidden, _ = translation_prompt("instruct", tok, code, None)
    assert "Translate the following program into" in hidden and "C++" not in hidden.split("```")[0]
    assert "```\n#include" in hidden
    tagged, stops = translation_prompt("tag", tok, code, "cpp")
    assert tagged.startswith("<cpp> #include") and tagged.endswith(" <py>") and "<cpp>" in stops
    # the reply continues the opened fence: code up to the closing one; or a whole fenced block after prose
    assert read_translation("instruct", "print(1)\nprint(2)\n```\nThis prints 1 and 2.") == "print(1)\nprint(2)"
    assert read_translation("instruct", "Sure:\n```python\nx = 3\nprint(x)\n```\n") == "x = 3\nprint(x)"
    assert read_translation("tag", "\n print(1)\n") == "print(1)"
    tok.chat_template = None
    with pytest.raises(CodebabelError, match="no chat template; use --prompt-format tag"):
        translation_prompt("instruct", tok, code, "cpp")


# -- --run: both programs in the sandbox -----------------------------------------------------------------------


def _outcome(stdout: str, returncode: int = 0) -> Outcome:
    return Outcome("k", Status.OK if returncode == 0 else Status.RUNTIME_ERROR, returncode, 0.0, stdout, "")


def test_same_behaviour_is_the_same_exit_status_and_nonempty_stdout():
    assert same_behaviour(_outcome("1\n2\n"), _outcome("1\n2\n"))[0]
    assert same_behaviour(_outcome("1\n2\n"), _outcome("1\n3\n")) == (False, "stdout differs from line 2 (2 vs 2 lines)")
    assert "exit status 0 vs 1" in same_behaviour(_outcome("1\n"), _outcome("1\n", 1))[1]
    assert same_behaviour(_outcome(""), _outcome(""))[1].startswith("the source printed nothing")
    assert "final newline" in same_behaviour(_outcome("1\n"), _outcome("1"))[1]


def test_run_both_agrees_with_a_right_translation_and_not_a_wrong_one():
    from codebabel.config import ExecutionConfig

    require_toolchain("js")
    row = next(json.loads(x) for x in (ROOT / "data" / "pairs" / "js.jsonl").read_text().splitlines()
               if json.loads(x).get("split") == "test")
    cfg = ExecutionConfig(workers=2, timeout_s=30)
    right = run_both(row["js"], "js", row["py"], cfg)
    assert right.agree and right.source.status == Status.OK and right.translation.stdout == right.source.stdout
    wrong = run_both(row["js"], "js", row["py"].replace("print(", "print('x', ", 1), cfg)
    assert not wrong.agree and wrong.why.startswith("stdout differs from line 1")
    crash = run_both(row["js"], "js", row["py"] + "\nraise SystemExit(3)\n", cfg)
    assert not crash.agree and crash.why.startswith("exit status 0 vs 3")


def test_cli_run_prints_both_programs_and_whether_they_agree(tiny, tmp_path):  # noqa: F811
    require_toolchain("js")
    path = tmp_path / "prog.js"
    path.write_text(OWN["js"])
    r = _invoke("translate", str(path), "--model", str(tiny), "--max-new-tokens", "4", "--run")
    assert "source (js): ok, exit status 0" in r.stderr and "\n3\n" in r.stderr, r.stderr
    assert "translation (py): " in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(("outputs agree: ", "outputs differ: ")), r.stderr  # exit 0 either way


# -- with experts ----------------------------------------------------------------------------------------------


def test_cli_with_experts_the_gate_detects_and_picks_the_expert(random_run, tiny):  # noqa: F811
    from codebabel.route.gate import Gate

    if not (random_run / "router" / "gate.safetensors").is_file():
        Gate(32, LANGS).save(random_run / "router", {"model": str(tiny)})
    r = _invoke("translate", "-", "--experts", str(random_run), "--max-new-tokens", "4", stdin=OWN["php"])
    assert f"by the experts' gate of {random_run}" in r.stderr, r.stderr
    line = next(x for x in r.stderr.splitlines() if x.startswith("translating with"))
    assert line.startswith(f"translating with {tiny} (prompt format tag, expert ")  # the experts' own base
    assert line.removesuffix(")").rsplit(" ", 1)[-1] in LANGS
    r = _invoke("translate", "-", "--experts", str(random_run), "--from", "php", "--max-new-tokens", "4",
                "--prompt-format", "instruct", stdin=OWN["php"])
    assert "by --from" in r.stderr and "(prompt format instruct, expert php)" in r.stderr, r.stderr


# -- evaluate translation --prompt-format ----------------------------------------------------------------------


def test_evaluate_translation_keys_generations_on_the_prompt_format(random_run, tiny, tmp_path):  # noqa: F811
    from codebabel.config import ExecutionConfig
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation

    require_toolchain("php")
    out = tmp_path / "ev"

    def run(fmt: str, **kw) -> tuple[dict, str]:
        log = io.StringIO()
        cfg = TranslationConfig(data=(str(ROOT / "data" / "pairs" / "php.jsonl"),), out=str(out), prompt_format=fmt,
                                max_new_tokens=4, limit=2, execution=ExecutionConfig(workers=2), **kw)
        summary = evaluate_translation(cfg, console=Console(file=log, width=200))
        return summary, log.getvalue()

    tag, _ = run("tag", model=str(tiny))
    instruct, log = run("instruct", model=str(tiny))
    assert "reusing" not in log  # another format: generated again
    assert (tag["settings"]["prompt_format"], instruct["settings"]["prompt_format"]) == ("tag", "instruct")
    assert json.loads((out / "summary.json").read_text())["settings"]["prompt_format"] == "instruct"
    rows = json.loads((out / "generations.json").read_text())["result"]
    assert all(r["prompt"].endswith("<|im_start|>assistant\n```python\n") and "reply" in r for r in rows)
    _, log = run("instruct", model=str(tiny))
    assert "reusing" in log  # the same format again: the generations are reused
    with pytest.raises(CodebabelError, match="--prompt-format 'chat' is unknown"):
        TranslationConfig(data=(), out=str(out), prompt_format="chat")
    # routed experts with instruct prompts: the router still reads the tag prompt (the tag router routes all)
    routed, _ = run("instruct", experts=str(random_run), router="tag")
    assert routed["routing"]["overall"] == 1.0 and routed["settings"]["experts"]["router"] == "tag"


# -- a real model ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_default_instruct_model_translates_a_program_that_runs_the_same(tmp_path):
    """The registered instruct model (pulled on first use), the instruct format, `--run`: a small JavaScript
    program translated greedily prints what the original prints."""
    import ast

    require_toolchain("js")
    path = tmp_path / "add.js"
    path.write_text(OWN["js"])
    r = run_cli("translate", str(path), "--run", "--max-new-tokens", "128", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "source language: js (JavaScript), by the file extension .js" in r.stderr
    assert "translating with qwen2.5-coder-0.5b (prompt format instruct)" in r.stderr
    ast.parse(r.stdout)
    assert r.stderr.strip().splitlines()[-1].startswith("outputs agree: "), r.stdout + r.stderr[-3000:]


def test_an_instruct_reply_that_names_the_language_again_is_read_without_that_line():
    """The instruct prompt opens a ```python fence; a reply that starts with ``python`` again (the code model does,
    on 8 of 30 held-out programs) is read from the next line, so the program is not a syntax error."""
    from codebabel.route.translator import read_translation

    assert read_translation("instruct", "python\nprint(1)\n```\nprose") == "print(1)"
    assert read_translation("instruct", "print(1)\n```") == "print(1)"
    assert read_translation("instruct", "python_value = 1\nprint(python_value)\n```") == \
        "python_value = 1\nprint(python_value)"
    assert read_translation("tag", "python\nprint(1)") == "python\nprint(1)"
