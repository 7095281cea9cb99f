"""Every language at once: names resolve, HumanEval translates, and every translated harness is well typed."""

from collections import Counter

import pytest

from codebabel.benchmarks import load_benchmark_with_skips
from codebabel.config import ExecutionConfig
from codebabel.errors import CodebabelError
from codebabel.execute.runner import Job, run_many
from codebabel.execute.status import Status
from codebabel.languages import all_languages, get_language
from tests.langkit import require_toolchain

LANGS = [lang.name for lang in all_languages()]
TRANSLATED = [n for n in LANGS if n != "py"]
#: MultiPL-E translates 161 problems for its typed targets; the three skipped everywhere rely on Python
#: helper functions in their prompts (HumanEval/32, /38, /50)
MIN_TRANSLATED = 161


@pytest.mark.parametrize("name", LANGS)
def test_registry_resolves_name_aliases_and_extensions(name):
    lang = get_language(name)
    for key in (lang.name, *lang.aliases, *lang.extensions, *(e.lstrip(".") for e in lang.extensions)):
        assert get_language(key) is lang
        assert get_language(key.upper()) is lang


def test_unknown_language_is_a_one_line_error_naming_it():
    with pytest.raises(CodebabelError, match="unknown language 'klingon'"):
        get_language("klingon")


@pytest.mark.parametrize("name", LANGS)
def test_a_crash_is_a_runtime_error_and_a_kill_from_outside_is_killed(name):
    import signal

    from codebabel.execute.sandbox import ExecResult

    lang = get_language(name)
    for sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGFPE):
        assert lang.classify(ExecResult(-sig, "", "", 0.1)) == Status.RUNTIME_ERROR
    assert lang.classify(ExecResult(-signal.SIGKILL, "", "", 0.1)) == Status.KILLED
    assert lang.classify(ExecResult(-signal.SIGKILL, "", "", 5.0, timed_out=True)) == Status.TIMEOUT


@pytest.mark.parametrize("name", TRANSLATED)
def test_humaneval_translates(name):
    problems, skipped = load_benchmark_with_skips("humaneval", name)
    assert len(problems) + len(skipped) == 164
    assert len(problems) >= MIN_TRANSLATED, [f"{s.task_id}: {s.reason}" for s in skipped]
    lang = get_language(name)
    for p in problems:
        assert p.language is lang and p.stub and p.prompt and p.tests
        assert p.entry_point in p.prompt


@pytest.mark.parametrize("name", TRANSLATED)
def test_every_translated_harness_compiles_with_the_stub_body(name):
    """With a stub that returns a default value, every program must reach ok or assertion_failed: no
    compile/type/syntax/runtime error can come from the harness itself."""
    lang = require_toolchain(name)
    problems, _ = load_benchmark_with_skips("humaneval", name)
    jobs = [Job(p.task_id, lang, p.program(p.stub)) for p in problems]
    outcomes = list(run_many(jobs, ExecutionConfig(timeout_s=30, workers=2)))
    bad = [f"{o.key}: {o.status.value}\n{o.stderr[-800:]}" for o in outcomes
           if o.status not in (Status.OK, Status.ASSERTION_FAILED)]
    assert not bad, f"{len(bad)} of {len(outcomes)} stub programs failed:\n" + "\n".join(bad[:5])
    counts = Counter(o.status for o in outcomes)
    assert counts[Status.ASSERTION_FAILED] > len(problems) // 2  # a default value fails most problems
