"""The web playground of `codebabel serve` (serve/playground.py, serve/static/).

Its JSON endpoints against the server on the tiny random model (hf, in this process): detection by
`codebabel translate`'s rule (the n-gram detector, the language chosen, the experts' router on the engine's
thread), translations and completions as the model generates in-process through the same prompts and the same
engine as the API, programs run in the sandbox (a translation with its source, compared), bad input as error
objects, the API key. Then the page itself in a real headless browser (Debian's chromium through selenium and
chromium-driver) against `codebabel serve` started as a command: on the tiny model (the page loads, a pasted Java
program is detected, Translate and Run show their results, a pasted Python program runs), and on the real
qwen2.5-coder-0.5b (`slow`): an example translated to a Python program that runs and agrees with its source.
Screenshots go to pytest's tmp_path and, where $CODEBABEL_SCREENSHOTS names a folder, there too.
"""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.serve.server import ServeConfig
from tests.browser import headless_chromium, screenshot
from tests.conftest import needs_bwrap
from tests.langkit import require_toolchain
from tests.test_serve import LANGS, call, local, random_experts, running

STATIC = Path(__file__).resolve().parents[1] / "src" / "codebabel" / "serve" / "static"
EXAMPLES = json.loads((STATIC / "examples.json").read_text())
JAVA = ("public class Main {\n    public static void main(String[] args) {\n        int n = 6;\n"
        "        System.out.println(n * 7);\n    }\n}\n")
PYTHON = "total = sum(range(10))\nprint('total', total)\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("playground") / "tiny")


@pytest.fixture(scope="module")
def server(tiny):
    with running(model=str(tiny), max_body_bytes=20_000, run_timeout=2) as serving:
        yield serving


def post(server, path: str, body, headers: dict | None = None):
    return call(server.url, "POST", path, body, headers)


def is_error(r, param) -> bool:
    return (set(r) == {"error"} and set(r["error"]) == {"message", "type", "param", "code"}
            and r["error"]["param"] == param and r["error"]["message"] and "\n" not in r["error"]["message"])


# -- the endpoints -------------------------------------------------------------------------------------------------


def test_the_page_and_its_files_are_served(server):
    status, page = call(server.url, "GET", "/")
    assert status == 200 and 'src="/static/app.js"' in page and 'id="translate"' in page
    for name in ("app.js", "app.css"):
        assert call(server.url, "GET", f"/static/{name}") == (200, (STATIC / name).read_text())
    assert call(server.url, "GET", "/static/examples.json") == (200, EXAMPLES)
    status, r = call(server.url, "GET", "/static/..%2Fapp.py")
    assert status == 404 and r["error"]["code"] == "not_found"
    status, cfg = call(server.url, "GET", "/api/config")
    assert status == 200 and cfg["experts"] == [] and cfg["prompt_format"] == "instruct"
    assert not cfg["key_required"] and {"java", "py", "cs"} <= {lang["name"] for lang in cfg["languages"]}


def test_every_example_is_detected_as_its_language(server):
    assert sorted(e["language"] for e in EXAMPLES) == ["cpp", "cs", "java", "js", "php", "py"]
    for example in EXAMPLES:
        status, r = post(server, "/api/detect", {"code": example["code"]})
        assert status == 200 and r["detection"]["language"] == example["language"], (example["name"], r)
        assert r["detection"]["how"].startswith("the n-gram detector")
    status, r = post(server, "/api/detect", {"code": JAVA, "language": "kotlin"})
    assert status == 400 and is_error(r, "language") and "unknown language" in r["error"]["message"]
    status, r = post(server, "/api/detect", {"code": JAVA, "language": ".php"})  # chosen: any alias or extension
    assert r["detection"] == {"language": "php", "display_name": "PHP", "how": "your choice in the language list",
                              "by": "choice"}


def test_translate_and_complete_generate_as_the_model_does_in_process(server, tiny):
    """The playground's translation is route/translator.py's instruct prompt through the engine: the same reply
    as the Translator in-process, and counted by the engine like any API request."""
    from codebabel.route.translator import Translator

    before = call(server.url, "GET", "/health")[1]["answered"]
    js = next(e["code"] for e in EXAMPLES if e["language"] == "js")
    status, r = post(server, "/api/translate", {"code": js, "max_tokens": 12, "temperature": 0})
    assert status == 200, r
    [want] = Translator(str(tiny), backend="hf", device="cpu").translate([js], ["js"], "instruct", 12)
    assert (r["reply"], r["translation"], r["n_tokens"]) == (want.reply, want.code, want.n_tokens)
    assert r["detection"]["language"] == "js" and r["prompt_format"] == "instruct" and r["expert"] is None
    assert r["model"] == str(tiny) and r["prompt_tokens"] > 50

    status, r = post(server, "/api/complete", {"code": "def add(a, b):\n", "max_tokens": 8})
    want = local(tiny, ["def add(a, b):\n"], 8)[0]
    assert status == 200 and r["completion"] == want.text and r["program"] == "def add(a, b):\n" + want.text
    assert r["detection"]["language"] == "py"
    assert call(server.url, "GET", "/health")[1]["answered"] == before + 2  # the same engine as /v1/*


@pytest.mark.parametrize("path,body,status,param", [
    ("/api/translate", {"code": " \n"}, 400, "code"),
    ("/api/translate", {"code": "int x;\x00"}, 400, "code"),
    ("/api/translate", {"code": PYTHON}, 400, "language"),  # Python is the target
    ("/api/translate", {"code": JAVA, "max_tokens": 0}, 400, "max_tokens"),
    ("/api/translate", {"code": JAVA, "temperature": 5}, 400, "temperature"),
    ("/api/complete", {"language": "py"}, 400, "code"),
    ("/api/complete", {"code": "x = 1\n" * 1100}, 400, "code"),  # past the tiny model's 1024 positions
    ("/api/run", {"program": {"language": "cobol", "code": "x"}}, 400, "program.language"),
    ("/api/run", {"program": {"language": "py", "code": ""}}, 400, "program.code"),
    ("/api/run", {"program": {"language": "js", "code": "1"}, "source": {"language": "js", "code": "1"}}, 400,
     "program.language"),  # a translation (with a source) is Python
    ("/api/run", {"program": "print(1)"}, 400, "program"),
    ("/api/run", b'{"program": ', 400, None),  # not JSON
    ("/api/run", {"program": {"language": "py", "code": "#" * 30_000}}, 413, None),  # over --max-body-bytes
])
def test_bad_input_is_an_error_object_naming_the_field(server, path, body, status, param):
    got, r = post(server, path, body)
    assert got == status and is_error(r, param), r


@needs_bwrap
def test_run_a_program_and_a_translation_with_its_source(server):
    require_toolchain("js")
    row = next(json.loads(x) for x in (STATIC.parents[3] / "data" / "pairs" / "js.jsonl").read_text().splitlines()
               if json.loads(x).get("split") == "test")
    status, r = post(server, "/api/run", {"program": {"language": "python", "code": PYTHON}})
    assert status == 200 and r["source"] is None and r["agree"] is None
    assert r["program"] | {"seconds": 0} == {"language": "py", "display_name": "Python", "status": "ok",
                                             "exit_status": 0, "seconds": 0, "stdout": "total 45\n",
                                             "stdout_truncated": False, "stderr": "", "stderr_truncated": False}
    status, r = post(server, "/api/run", {"program": {"language": "py", "code": row["py"]},
                                          "source": {"language": "js", "code": row["js"]}})
    assert status == 200 and r["agree"] and r["program"]["stdout"] == r["source"]["stdout"] != ""
    status, r = post(server, "/api/run", {"program": {"language": "py", "code": row["py"] + "\nraise SystemExit(3)\n"},
                                          "source": {"language": "js", "code": row["js"]}})
    assert status == 200 and not r["agree"] and r["why"].startswith("exit status 0 vs 3")


@needs_bwrap
def test_runs_are_bounded_in_time_and_output(server):
    status, r = post(server, "/api/run", {"program": {"language": "py", "code": "while True:\n    pass\n"}})
    assert status == 200 and r["program"]["status"] == "timeout" and r["program"]["seconds"] < 10  # --run-timeout 2
    noisy = "import sys\nfor i in range(9000):\n    print('x' * 20)\n    print(i, file=sys.stderr)\nsys.exit(4)\n"
    status, r = post(server, "/api/run", {"program": {"language": "py", "code": noisy}})
    p = r["program"]
    assert status == 200 and p["exit_status"] == 4 and p["stdout_truncated"] and p["stderr_truncated"]
    assert len(p["stdout"]) == len(p["stderr"]) == 2000 and p["stdout"].endswith("x" * 20 + "\n")
    assert p["stderr"].endswith("8998\n8999\n")
    status, r = post(server, "/api/run", {"program": {"language": "py", "code": "print('x' * 300_000)\n"}})
    assert status == 200 and r["program"]["status"] == "output_limit"  # over the sandbox's cap (256 KB)


def test_the_api_key_applies_to_the_playground_and_it_can_be_turned_off(tiny):
    with running(model=str(tiny), api_key="s3cret") as s:
        for path, body in (("/api/detect", {"code": JAVA}), ("/api/translate", {"code": JAVA}),
                           ("/api/run", {"program": {"language": "py", "code": PYTHON}})):
            status, r = post(s, path, body)
            assert status == 401 and r["error"]["code"] == "invalid_api_key", path
        assert call(s.url, "GET", "/")[0] == 200 and call(s.url, "GET", "/api/config")[1]["key_required"]
        status, r = post(s, "/api/detect", {"code": JAVA}, {"Authorization": "Bearer s3cret"})
        assert status == 200 and r["detection"]["language"] == "java"
    with running(model=str(tiny), playground=False) as s:
        for path in ("/", "/api/config", "/static/app.js"):
            status, r = call(s.url, "GET", path)
            assert status == 404 and r["error"]["code"] == "not_found"
        assert call(s.url, "GET", "/v1/models")[0] == 200


def test_with_experts_the_router_detects_and_the_expert_translates(tiny, tmp_path):
    from codebabel.data.pairs import CODE_TAG, language_tags, source_prompt
    from codebabel.route.gate import Gate

    run = random_experts(tiny, tmp_path / "run")
    Gate(32, LANGS).save(run / "router", {"model": str(tiny)})
    php = next(e["code"] for e in EXAMPLES if e["language"] == "php")
    with running(experts=str(run), router="gate") as s:
        status, r = post(s, "/api/detect", {"code": php})
        assert status == 200 and r["detection"]["language"] in LANGS and r["detection"]["by"] == "experts"
        assert r["detection"]["how"] == f"the experts' gate router ({run})"
        status, r = post(s, "/api/translate", {"code": php, "language": "php", "max_tokens": 8})
        assert status == 200 and r["expert"] == r["model"] == "php" and r["prompt_format"] == "tag"
        status, java = post(s, "/api/translate", {"code": JAVA, "language": "java"})
        assert status == 400 and "the experts in" in java["error"]["message"] and java["error"]["param"] == "language"
        assert post(s, "/api/detect", {"code": JAVA, "language": "java"})[1]["detection"]["language"] == "java"
    stops = [*language_tags().values(), CODE_TAG]
    want = local(tiny, [source_prompt(php, "php")], 8, stop=stops, adapter=str(run / "experts" / "php" / "adapter"))
    assert r["reply"] == want[0].text


def test_sampling_settings_reach_the_engine(server, tiny):
    """A sampled translation (temperature, top-p, seed from the page's fields) is the sample the model draws
    in-process with those settings."""
    from codebabel.generate.backends import make_backend
    from codebabel.route.translator import translation_prompt

    body = {"code": JAVA, "max_tokens": 10, "temperature": 0.8, "top_p": 0.9, "seed": 7}
    status, r = post(server, "/api/translate", body)
    be = make_backend(str(tiny), backend="hf", device="cpu", log=lambda _: None)
    prompt, stop = translation_prompt("instruct", be.tokenizer, JAVA, "java")
    [[want]] = be.generate([prompt], SamplingConfig(temperature=0.8, top_p=0.9, seed=7, max_new_tokens=10), stop)
    assert status == 200 and r["reply"] == want.text


def test_run_timeout_is_bounded():
    for bad in (0, -1, 61):
        with pytest.raises(CodebabelError, match=f"--run-timeout {bad}: must be above 0 and at most 60"):
            ServeConfig(model="m", run_timeout=bad)


# -- the page in a browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(1400, 1000) as driver:
        yield driver


@contextmanager
def serve_command(tmp_path: Path, *args: str):
    """`codebabel serve ARGS --port 0` as a command; yields its address; SIGTERM at the end."""
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "codebabel", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = proc.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + (tmp_path / "serve.log").read_text()[-3000:]
        yield line.split(" at ")[1].split("/v1")[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()




def wait(driver, condition, timeout: float = 60, what: str = ""):
    """``condition(driver)``'s first truthy value; the page's error line, if it shows one, fails at once."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        error = driver.find_element(By.ID, "error")
        assert not error.is_displayed(), f"the page says: {error.text}"
        value = condition(driver)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def text(driver, selector: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found and found[0].is_displayed() else ""


def open_page(driver, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/")
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes", 60, "the page")


def replace_code(driver, code: str) -> None:
    """Type ``code`` into the editor as a user would (select all, delete, type): input events fire."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = driver.find_element(By.ID, "code")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys(code)


def set_number(driver, field: str, value: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, field)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value))


def click_and_wait(driver, button: str, timeout: float) -> None:
    """Click ``button`` and wait until the page is idle again (its buttons enabled, no status line)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, button).click()
    wait(driver, lambda d: d.find_element(By.ID, button).is_enabled() and not text(d, "#status"), timeout, button)


@needs_bwrap
def test_page_detects_translates_and_runs_on_the_tiny_model(browser, tiny, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    require_toolchain("java")
    with serve_command(tmp_path, "--model", str(tiny), "--backend", "hf", "--device", "cpu") as url:
        open_page(browser, url)
        assert f"model {tiny}" in text(browser, "#model") and not browser.find_element(By.ID, "key-row").is_displayed()
        replace_code(browser, JAVA)
        detected = wait(browser, lambda d: text(d, "#detected").startswith("Source language:") and text(d, "#detected"),
                        30, "the detected language")
        assert detected.startswith("Source language: Java (java), by the n-gram detector"), detected
        set_number(browser, "max-tokens", 8)
        click_and_wait(browser, "translate", 120)
        info = text(browser, "#result-info")
        assert info.startswith(f"{tiny}, prompt format instruct: ") and "tokens generated" in info, info
        assert text(browser, "#result-title") == "Translation (Python)"
        click_and_wait(browser, "run", 120)  # the translation and its Java source, compared
        assert text(browser, "#run-source .stdout") == "42" and text(browser, "#run-source .status").startswith("ok")
        assert text(browser, "#agree").startswith("outputs differ: ")  # a random model's "Python"
        screenshot(browser, tmp_path, "playground-tiny-translation")

        replace_code(browser, PYTHON)  # a new program: Run runs it, there is no result for it yet
        wait(browser, lambda d: "Python (py)" in text(d, "#detected"), 30, "Python detected")
        assert text(browser, "#result-title") == "Result" and not browser.find_element(By.ID, "result").get_property(
            "value")
        click_and_wait(browser, "run", 120)
        assert text(browser, "#run-program h3") == "program (Python)"
        assert text(browser, "#run-program .stdout") == "total 45" and not text(browser, "#run-source")
        assert text(browser, "#run-program .status").startswith("ok, exit status 0")
        assert not browser.find_element(By.ID, "agree").is_displayed()
        screenshot(browser, tmp_path, "playground-tiny-run")

        Select(browser.find_element(By.ID, "example")).select_by_visible_text("Python: a function to complete")
        wait(browser, lambda d: "Python (py)" in text(d, "#detected"), 30, "Python detected")
        click_and_wait(browser, "complete", 120)
        example = next(e["code"] for e in EXAMPLES if e["language"] == "py")
        assert text(browser, "#result-title") == "Completion (Python)"
        assert browser.find_element(By.ID, "result").get_property("value").startswith(example)
        assert text(browser, "#result-info").startswith(f"{tiny}: ") and not text(browser, "#run-output")


@pytest.mark.slow
@needs_bwrap
def test_page_translates_an_example_into_python_that_runs_on_qwen(browser, tmp_path):
    """The real registered model (llama.cpp on CPU): the JavaScript example, translated greedily in at most 200
    tokens, is a Python program that runs and prints what the source prints."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    require_toolchain("js")
    with serve_command(tmp_path, "--model", "qwen2.5-coder-0.5b") as url:
        open_page(browser, url)
        Select(browser.find_element(By.ID, "example")).select_by_visible_text("JavaScript: add two numbers")
        wait(browser, lambda d: "JavaScript (js)" in text(d, "#detected"), 30, "JavaScript detected")
        set_number(browser, "max-tokens", 200)
        click_and_wait(browser, "translate", 600)
        translation = browser.find_element(By.ID, "result").get_property("value")
        ast.parse(translation)
        assert "qwen2.5-coder-0.5b, prompt format instruct" in text(browser, "#result-info")
        click_and_wait(browser, "run", 120)
        screenshot(browser, tmp_path, "playground-qwen-translation")
        assert text(browser, "#run-source .stdout") == text(browser, "#run-program .stdout") == "3"
        assert text(browser, "#agree").startswith("outputs agree: "), translation
