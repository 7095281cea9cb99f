"""The n-gram router baseline (route/ngram.py): the lexer, held-out accuracy on the authored pairs in
data/pairs/, tags ignored by default, save/load, bad labels and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codebabel.data.pairs import read_pairs, split_tags, training_sample
from codebabel.errors import CodebabelError
from codebabel.route.ngram import NgramClassifier, code_tokens
from codebabel.route.routing import routing_report

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ["cpp", "java", "cs", "js", "php"]


def _prompts(split: str, hide_language: bool) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for lang in LANGUAGES:
        for pair in read_pairs(ROOT / "data" / "pairs" / f"{lang}.jsonl"):
            if pair.split == split:
                texts.append(training_sample(pair, lang, hide_language=hide_language)["prompt"])
                labels.append(lang)
    return texts, labels


@pytest.fixture(scope="module")
def router() -> NgramClassifier:
    texts, labels = _prompts("train", hide_language=False)
    return NgramClassifier(LANGUAGES).fit(texts, labels)


def test_code_tokens():
    assert code_tokens('echo "n = $n\\n"; $a->b::c => 1.5; // done') == [
        "echo", "STR", ";", "$a", "->", "b", "::", "c", "=>", "1.5", ";", "//"]
    assert code_tokens("#include <iostream>\nstd::cout << 'x';") == [
        "#", "include", "<", "iostream", ">", "std", "::", "cout", "<<", "CHR", ";"]
    assert code_tokens('<?php $s .= $"{a}" . `t ${b}`; /* a\nb */ @Override') == [
        "<?php", "$s", ".=", "$STR", ".", "TPL", ";", "/*", "@Override"]
    assert split_tags("<code> int main() {} <py>") == ("<code>", "int main() {}", "<py>")
    assert split_tags("int x = a <b> c;") == (None, "int x = a <b> c;", None)  # not a known tag: kept


def test_held_out_accuracy(router):
    texts, labels = _prompts("test", hide_language=True)  # "<code> SOURCE <py>": only the code tells
    assert all(t.startswith("<code> ") for t in texts)
    preds = router.predict(texts)
    report = routing_report(preds, labels, LANGUAGES)
    print(f"\nn-gram router, held-out (test split, <code> tag): {report['confusion']}")
    per_lang = report["accuracy"]
    accuracy = ", ".join(f"{lang} {acc:.2f}" for lang, acc in per_lang.items())
    assert all(acc >= 5 / 6 for acc in per_lang.values()), f"per-language accuracy {accuracy}\n{report['confusion']}"


def test_log_probs_are_normalised(router):
    texts, _ = _prompts("test", hide_language=True)
    lp = router.log_probs(texts[:7] + [""])
    assert lp.shape == (8, len(LANGUAGES))
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0)
    np.testing.assert_allclose(lp[-1], -np.log(len(LANGUAGES)))  # nothing known: the uniform prior
    assert router.log_probs([]).shape == (0, len(LANGUAGES))
    assert router.predict([]) == []


def test_tags_ignored_by_default(router):
    code = "#include <iostream>\nint main() {\n    std::cout << \"hi\" << std::endl;\n    return 0;\n}"
    as_cpp, as_java, hidden = (f"{tag} {code} <py>" for tag in ("<cpp>", "<java>", "<code>"))
    np.testing.assert_array_equal(router.log_probs([as_cpp]), router.log_probs([as_java]))
    assert router.predict([as_cpp, as_java, hidden, code]) == ["cpp"] * 4
    assert router.tokens(as_java) == code_tokens(code)
    tagged = NgramClassifier(LANGUAGES, use_tag=True)
    assert tagged.tokens(as_java) == ["<java>", *code_tokens(code), "<py>"]


def test_save_load_round_trip(router, tmp_path):
    texts, _ = _prompts("test", hide_language=True)
    path = router.save(tmp_path / "sub" / "router.json")
    assert [p.name for p in path.parent.iterdir()] == ["router.json"]  # no temp file left behind
    loaded = NgramClassifier.load(path)
    assert (loaded.languages, loaded.n, loaded.alpha, loaded.use_tag) == (LANGUAGES, 2, 1.0, False)
    np.testing.assert_array_equal(loaded.log_probs(texts), router.log_probs(texts))


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="'rust'"):
        NgramClassifier(LANGUAGES).fit(["fn main() {}", "int main() {}"], ["rust", "cpp"])
    with pytest.raises(ValueError, match="labels"):
        NgramClassifier(LANGUAGES).fit(["int main() {}"], [])


def test_n_and_alpha():
    texts = ["int main() { return 0; }", "function f() { return 0; }"]
    r = NgramClassifier(["cpp", "js"], n=3, alpha=0.5).fit(texts, ["cpp", "js"])
    assert "<s> int main" in r.vocab and "main" in r.vocab
    assert r.predict(["int main() {}", "function g() {}"]) == ["cpp", "js"]
    with pytest.raises(CodebabelError, match="not trained"):
        NgramClassifier(["cpp"]).predict(["x"])


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"format": "codebabel-ngram-router"}',
                                     "MISSING"])
def test_bad_file_raises(router, tmp_path, content):
    path = tmp_path / "router.json"
    if content != "MISSING":
        path.write_text(content)
    with pytest.raises(CodebabelError, match="router.json") as err:
        NgramClassifier.load(path)
    assert "\n" not in str(err.value)


def test_inconsistent_file_raises(router, tmp_path):
    data = router.to_dict()
    data["counts"][0] = data["counts"][0][:-1]
    path = tmp_path / "router.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CodebabelError, match="malformed"):
        NgramClassifier.load(path)
