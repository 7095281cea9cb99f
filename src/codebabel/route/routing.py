"""Routers — which expert translates a prompt — and how well they route.

* ``gate``: the learned gate (route/gate.py), run once on the prompt's own tokens.
* ``ngram``: naive Bayes over code-token n-grams (route/ngram.py), the code only.
* ``tag``: the explicit language tag (``<cpp> ...``); a prompt tagged ``<code>`` gets no expert (None).

:func:`routing_report` gives per-language accuracy and a confusion matrix per router, for prompts with the
language tag and with ``<code>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from codebabel.data.pairs import Pair, training_sample
from codebabel.errors import CodebabelError

ROUTERS = ("gate", "ngram", "tag")
NONE = "none"  # the confusion matrix column of prompts a router gives no expert


class GateRouter:
    name = "gate"

    def __init__(self, run: Path, model, tokenizer):
        from codebabel.route.gate import Gate

        self.gate = Gate.load(run / "router")
        self.model, self.tokenizer = model, tokenizer
        self.languages = self.gate.experts
        self.calls = 0  # how many times the gate ran (tests: once per routed batch, never while decoding)

    def probabilities(self, prompts: Sequence[str]):
        from codebabel.route.gate import routing_probabilities

        self.calls += 1
        return routing_probabilities(self.gate, self.model, self.tokenizer, list(prompts))

    def route(self, prompts: Sequence[str], batch_size: int = 16) -> list[str | None]:
        out: list[str | None] = []
        for k in range(0, len(prompts), batch_size):
            probs = self.probabilities(prompts[k:k + batch_size])
            out += [self.languages[i] for i in probs.argmax(-1).tolist()]
        return out


class NgramRouterAdapter:
    name = "ngram"

    def __init__(self, run: Path):
        from codebabel.route.ngram import NgramRouter

        self.router = NgramRouter.load(run / "router" / "ngram.json")
        self.languages = list(self.router.languages)

    def route(self, prompts: Sequence[str]) -> list[str | None]:
        return list(self.router.predict(list(prompts))) if prompts else []


class TagRouter:
    name = "tag"

    def __init__(self, languages: Sequence[str]):
        self.languages = list(languages)

    def route(self, prompts: Sequence[str]) -> list[str | None]:
        from codebabel.data.pairs import split_tags

        out: list[str | None] = []
        for p in prompts:
            tag = split_tags(p)[0]
            name = tag[1:-1] if tag else None
            out.append(name if name in self.languages else None)
        return out


def make_router(kind: str, run: Path, languages: Sequence[str], model=None, tokenizer=None):
    if kind == "gate":
        if model is None:
            raise ValueError("the gate router needs the model")
        return GateRouter(run, model, tokenizer)
    if kind == "ngram":
        return NgramRouterAdapter(run)
    if kind == "tag":
        return TagRouter(languages)
    raise CodebabelError(f"--router {kind!r} is unknown; use one of {', '.join(ROUTERS)}")


def routing_prompts(pairs: Sequence[Pair], languages: Sequence[str], hide_language: bool
                    ) -> tuple[list[str], list[str], list[str]]:
    """(prompts, true source languages, pair ids): one prompt per pair and source language it holds."""
    prompts, labels, ids = [], [], []
    for pair in pairs:
        for lang in languages:
            if lang in pair.code and "py" in pair.code:
                prompts.append(training_sample(pair, lang, hide_language=hide_language)["prompt"])
                labels.append(lang)
                ids.append(pair.id or "")
    return prompts, labels, ids


def routing_report(predicted: Sequence[str | None], labels: Sequence[str], languages: Sequence[str]) -> dict:
    """Accuracy per language (and the minimum) and the confusion matrix ``{true: {predicted: count}}``."""
    cols = [*languages, NONE]
    matrix = {t: dict.fromkeys(cols, 0) for t in languages}
    for p, t in zip(predicted, labels, strict=True):
        matrix[t][p if p in languages else NONE] += 1
    acc = {t: (matrix[t][t] / n if (n := sum(matrix[t].values())) else None) for t in languages}
    known = [a for a in acc.values() if a is not None]
    return {"accuracy": acc, "min_accuracy": min(known) if known else None,
            "overall": sum(matrix[t][t] for t in languages) / max(len(labels), 1), "n": len(labels),
            "confusion": matrix}


def humaneval_prompts(languages: Sequence[str], hide_language: bool) -> tuple[list[str], list[str]]:
    """HumanEval's prompts translated into each language (signature + doc comment, no body) as routing
    prompts: a second held-out set, 164 per language, of code unlike the training programs."""
    from codebabel.data.pairs import CODE_TAG, language_tags
    from codebabel.evaluate.benchmarks import load_benchmark

    prompts, labels = [], []
    for lang in languages:
        for problem in load_benchmark("humaneval", lang):
            tag = CODE_TAG if hide_language else language_tags()[lang]
            prompts.append(f"{tag} {problem.prompt.strip()} <py>")
            labels.append(lang)
    return prompts, labels


def route_accuracy(run: str | Path, data: Sequence[str], split: str | None = "test",
                   routers: Sequence[str] = ROUTERS, device: str = "auto", humaneval: bool = False) -> dict:
    """Each router on the pairs of ``data`` (``split``), with the language tag and with ``<code>``:
    ``{router: {"tagged": report, "hidden": report}}`` (:func:`routing_report`); with ``humaneval`` also
    ``"humaneval_tagged"`` / ``"humaneval_hidden"`` on HumanEval's translated prompts."""
    from codebabel.data.pairs import read_pairs
    from codebabel.route.experts import run_languages, run_model

    run = Path(run).expanduser()
    if not run.is_dir():
        raise CodebabelError(f"experts '{run}': no such folder; pass a `codebabel route train-experts` run folder")
    languages = run_languages(run)
    pairs = [p for path in data for p in read_pairs(path) if split is None or p.split in (None, split)]
    model = tokenizer = None
    if "gate" in routers:
        from codebabel.models.loading import load_model

        model, tokenizer = load_model(run_model(run), device=device)  # the gate reads only the embeddings
    out: dict = {"languages": languages, "split": split, "data": list(data)}
    for kind in routers:
        router = make_router(kind, run, languages, model, tokenizer)
        out[kind] = {}
        for mode, hide in (("tagged", False), ("hidden", True)):
            prompts, labels, _ = routing_prompts(pairs, languages, hide)
            if not prompts:
                raise CodebabelError(f"--data {', '.join(data)}: no pair of split {split!r} holds py and one of "
                                     f"{', '.join(languages)}")
            out[kind][mode] = routing_report(router.route(prompts), labels, languages)
            if humaneval:
                prompts, labels = humaneval_prompts(languages, hide)
                out[kind][f"humaneval_{mode}"] = routing_report(router.route(prompts), labels, languages)
    return out
