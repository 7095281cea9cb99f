"""Text-match metrics for translations into Python: CodeBLEU, BLEU and exact match.

CodeBLEU (Ren et al., 2020) is the PyPI ``codebleu`` package (0.7.0, pinned with its tree-sitter grammars in
``pyproject.toml``), not a reimplementation: ``codebleu = 0.25 * ngram_match + 0.25 * weighted_ngram_match +
0.25 * syntax_match + 0.25 * dataflow_match``, except for the data-flow convention in
:data:`DATAFLOW_CONVENTION`. These metrics complement, never replace, pass@k from running the code.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from codebabel.errors import CodebabelError

#: Weights of ngram_match, weighted_ngram_match, syntax_match and dataflow_match in CodeBLEU.
WEIGHTS: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)

#: How codebleu 0.7.0 scores data-flow (codebleu/dataflow_match.py returns 0 when no reference has a
#: data-flow edge; codebleu/codebleu.py combines with ``theta * (dataflow_match_score or 1)``).
DATAFLOW_CONVENTION = (
    "codebleu 0.7.0 reports dataflow_match as 0 whenever no reference data-flow edge is matched, both when "
    "the references have no data-flow edges at all and when the prediction matches none of them, but the "
    "combined codebleu score counts that component as 1.0 instead of 0 (theta * (dataflow_match or 1)), "
    "unlike the original CodeXGLUE script, which counts it as 0."
)

#: The score keys every function here returns, in order.
SCORE_KEYS = ("codebleu", "ngram_match", "weighted_ngram_match", "syntax_match", "dataflow_match")

_PACKAGE_KEYS = {
    "codebleu": "codebleu",
    "ngram_match_score": "ngram_match",
    "weighted_ngram_match_score": "weighted_ngram_match",
    "syntax_match_score": "syntax_match",
    "dataflow_match_score": "dataflow_match",
}

# codebleu language name -> (grammar module, pip requirement). Unpinned entries are not in pyproject.toml.
_GRAMMARS = {
    "python": ("tree_sitter_python", "tree-sitter-python==0.21.0"),
    "java": ("tree_sitter_java", "tree-sitter-java==0.21.0"),
    "javascript": ("tree_sitter_javascript", "tree-sitter-javascript==0.21.4"),
    "c_sharp": ("tree_sitter_c_sharp", "tree-sitter-c-sharp==0.21.3"),
    "php": ("tree_sitter_php", "tree-sitter-php==0.22.8"),
    "cpp": ("tree_sitter_cpp", "tree-sitter-cpp==0.22.3"),
    "c": ("tree_sitter_c", "tree-sitter-c~=0.21.0"),
    "go": ("tree_sitter_go", "tree-sitter-go~=0.21.0"),
    "ruby": ("tree_sitter_ruby", "tree-sitter-ruby~=0.21.0"),
    "rust": ("tree_sitter_rust", "tree-sitter-rust~=0.21.0"),
}

_CORE_PINS = {"codebleu": "codebleu==0.7.0", "tree_sitter": "tree-sitter==0.22.3"}


def _codebleu() -> Any:
    """The ``codebleu`` module, or a one-line :class:`CodebabelError` naming what is missing."""
    try:
        return importlib.import_module("codebleu")
    except ImportError as e:
        missing = (e.name or "codebleu").split(".")[0]
        pin = _CORE_PINS.get(missing, missing.replace("_", "-"))
        raise CodebabelError(
            f"CodeBLEU needs the Python package {pin.split('==')[0]}, which is not installed "
            f"(pip install '{pin}')"
        ) from None


@cache
def _check_grammar(lang: str) -> None:
    """Load ``lang``'s tree-sitter grammar once, turning every failure into a one-line CodebabelError."""
    module = _codebleu()
    if lang not in module.AVAILABLE_LANGS:
        known = ", ".join(module.AVAILABLE_LANGS)
        raise CodebabelError(f"CodeBLEU: unknown language {lang!r}; codebleu knows {known}")
    grammar, pin = _GRAMMARS[lang]
    package = pin.split("=")[0].split("~")[0]
    try:
        importlib.import_module(grammar)
    except ImportError:
        raise CodebabelError(
            f"CodeBLEU for {lang} needs the Python package {package}, which is not installed "
            f"(pip install '{pin}')"
        ) from None
    from codebleu.utils import get_tree_sitter_language

    try:
        get_tree_sitter_language(lang)
    except (TypeError, ValueError) as e:
        raise CodebabelError(
            f"CodeBLEU for {lang}: {package} does not load under the installed tree-sitter ({e}); "
            f"install the pinned pair: pip install '{pin}' '{_CORE_PINS['tree_sitter']}'"
        ) from None


def _check_pairs(references: list[str], predictions: list[str]) -> None:
    if not references or not predictions:
        raise ValueError("need at least one reference and one prediction")
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")


def codebleu_scores(references: list[str], predictions: list[str], lang: str = "python") -> dict[str, float]:
    """Corpus-level CodeBLEU and its four components, from ``codebleu.calc_codebleu`` with :data:`WEIGHTS`.

    Keys are :data:`SCORE_KEYS`; every value is in [0, 1]. One reference per prediction; both are stripped
    of surrounding whitespace by the package, and the n-gram components tokenise with ``str.split()``.

    Data-flow convention: codebleu 0.7.0 reports ``dataflow_match`` as 0 whenever no reference data-flow
    edge is matched, both when the references have no data-flow edges at all (it then logs a warning) and
    when the prediction matches none of them, but the combined ``codebleu`` score counts that component as
    1.0 instead of 0 (``theta * (dataflow_match_score or 1)`` in codebleu/codebleu.py), unlike the original
    CodeXGLUE script, which counts it as 0. So a prediction sharing nothing with its reference scores 0.25.
    See :data:`DATAFLOW_CONVENTION`.

    Reproducibility: when a data-flow node is reached twice (loops), codebleu merges its parent variables
    with ``list(set(...))`` (codebleu/parser/DFG.py, codebleu/dataflow_match.py), so ``dataflow_match`` for
    code whose variable names differ from the reference's can change with ``PYTHONHASHSEED``; fix that
    variable for run-to-run identical numbers. Comparing code with itself is unaffected.

    Raises ValueError for empty or unequal-length lists, and :class:`CodebabelError` when codebleu,
    tree-sitter or the grammar for ``lang`` is missing or does not load, or ``lang`` is unknown to codebleu.
    """
    _check_pairs(references, predictions)
    _check_grammar(lang)
    raw = _codebleu().calc_codebleu(list(references), list(predictions), lang=lang, weights=WEIGHTS)
    return {ours: float(raw[theirs]) for theirs, ours in _PACKAGE_KEYS.items()}


def sentence_scores(reference: str, prediction: str, lang: str = "python") -> dict[str, float]:
    """CodeBLEU and its components for one pair (a per-sample row); same keys and convention as
    :func:`codebleu_scores`. Note that sentence-level BLEU is harsh on short code (under four tokens it can
    never reach 1.0), and that the data-flow convention applies per sample here."""
    return codebleu_scores([reference], [prediction], lang)


def bleu(references: list[str], predictions: list[str]) -> float:
    """Corpus BLEU-4 on code tokens, exactly CodeBLEU's ``ngram_match`` component.

    Uses the package's own ``codebleu.bleu.corpus_bleu`` (NLTK's, uniform weights, smoothing ``method1``:
    a zero n-gram count becomes 0.1) on the same tokens as ``calc_codebleu``: each string stripped of
    surrounding whitespace and split on whitespace (``s.strip().split()``), so ``a+1`` is one token and
    ``a + 1`` three. Raises ValueError for empty or unequal-length lists.
    """
    _check_pairs(references, predictions)
    _codebleu()
    from codebleu.bleu import corpus_bleu

    refs = [[ref.strip().split()] for ref in references]
    hyps = [pred.strip().split() for pred in predictions]
    return float(corpus_bleu(refs, hyps))


def normalise(code: str) -> str:
    """``code`` with line endings made ``\\n``, trailing whitespace and blank lines dropped, and no final
    newline. Leading indentation is kept: it is syntax in Python."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())


def exact_match(reference: str, prediction: str) -> bool:
    """Whether ``reference`` and ``prediction`` are equal after :func:`normalise`."""
    return normalise(reference) == normalise(prediction)
