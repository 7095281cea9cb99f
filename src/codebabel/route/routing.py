"""Routers — which expert translates a prompt — and how well they route.

* ``gate``: the learned gate (route/gate.py), run once on the prompt's own tokens.
* ``ngram``: naive Bayes over code-token n-grams (route/ngram.py), the code only.
* ``tag``: the explicit language tag (``<cpp> ...``); a prompt tagged ``<code>`` gets no expert (None).

:func:`routing_report` gives per-language accuracy and a confusion matrix per router, for prompts with the
language tag and with ``<code>``; :func:`route_accuracy_report` is ``codebabel route accuracy``
(:class:`RouteAccuracyConfig`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codebabel.benchmarks import load_benchmark
from codebabel.data.pairs import CODE_TAG, Pair, language_tags, read_pairs, split_tags, training_sample
from codebabel.errors import CodebabelError
from codebabel.models.loading import load_model
from codebabel.route.gate import Gate, routing_probabilities
from codebabel.route.ngram import NgramClassifier
from codebabel.route.run import ROUTER_DIR, run_languages, run_model
from codebabel.store import atomic_write_text

NONE = "none"  # the confusion matrix column of prompts a router gives no expert


class GateRouter:
    name = "gate"

    @classmethod
    def from_run(cls, run: Path, languages: Sequence[str], model=None, tokenizer=None) -> GateRouter:
        if model is None:
            raise ValueError("the gate router needs the model")
        return cls(run, model, tokenizer)

    def __init__(self, run: Path, model, tokenizer):
        self.gate = Gate.load(run / ROUTER_DIR)
        self.model, self.tokenizer = model, tokenizer
        self.languages = self.gate.experts
        self.calls = 0  # how many times the gate ran (tests: once per routed batch, never while decoding)

    def probabilities(self, prompts: Sequence[str]):
        self.calls += 1
        return routing_probabilities(self.gate, self.model, self.tokenizer, list(prompts))

    def route(self, prompts: Sequence[str], batch_size: int = 16) -> list[str | None]:
        out: list[str | None] = []
        for k in range(0, len(prompts), batch_size):
            probs = self.probabilities(prompts[k:k + batch_size])
            out += [self.languages[i] for i in probs.argmax(-1).tolist()]
        return out


class NgramRouter:
    name = "ngram"

    @classmethod
    def from_run(cls, run: Path, languages: Sequence[str], model=None, tokenizer=None) -> NgramRouter:
        return cls(run)

    def __init__(self, run: Path):
        self.classifier = NgramClassifier.load(run / ROUTER_DIR / "ngram.json")
        self.languages = list(self.classifier.languages)

    def route(self, prompts: Sequence[str]) -> list[str | None]:
        return list(self.classifier.predict(list(prompts))) if prompts else []


class TagRouter:
    name = "tag"

    @classmethod
    def from_run(cls, run: Path, languages: Sequence[str], model=None, tokenizer=None) -> TagRouter:
        return cls(languages)

    def __init__(self, languages: Sequence[str]):
        self.languages = list(languages)

    def route(self, prompts: Sequence[str]) -> list[str | None]:
        out: list[str | None] = []
        for p in prompts:
            tag = split_tags(p)[0]
            name = tag[1:-1] if tag else None
            out.append(name if name in self.languages else None)
        return out


#: name -> router class; each is built with ``from_run(run, languages, model, tokenizer)``
ROUTERS = {cls.name: cls for cls in (GateRouter, NgramRouter, TagRouter)}


def make_router(kind: str, run: Path, languages: Sequence[str], model=None, tokenizer=None):
    if kind not in ROUTERS:
        raise CodebabelError(f"--router {kind!r} is unknown; use one of {', '.join(ROUTERS)}")
    return ROUTERS[kind].from_run(run, languages, model, tokenizer)


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
    prompts: a second held-out set, 161 per language (the HumanEval problems translated into it), of code unlike the training programs."""

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

    run = Path(run).expanduser()
    if not run.is_dir():
        raise CodebabelError(f"experts '{run}': no such folder; pass a `codebabel route train-experts` run folder")
    languages = run_languages(run)
    pairs = [p for path in data for p in read_pairs(path) if split is None or p.split in (None, split)]
    model = tokenizer = None
    if "gate" in routers:
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


@dataclass(frozen=True)
class RouteAccuracyConfig:
    """``codebabel route accuracy``: the routers named by ``router`` (``all``: every one) on the pairs of
    ``data`` of ``split`` (``all``: every pair), and with ``humaneval`` on HumanEval's translated prompts."""

    experts: str
    data: tuple[str, ...]
    split: str | None = "test"
    router: str = "all"
    out: str | None = None
    humaneval: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.split == "all":
            object.__setattr__(self, "split", None)
        for kind in self.routers:
            if kind not in ROUTERS:
                raise CodebabelError(f"--router {kind!r} is unknown; use one of {', '.join(ROUTERS)} or all")

    @property
    def routers(self) -> list[str]:
        return list(ROUTERS) if self.router == "all" else [self.router]


def route_accuracy_report(cfg: RouteAccuracyConfig) -> dict:
    """:func:`route_accuracy` as ``cfg`` says; the report is also written to ``cfg.out`` (JSON) when given."""
    report = route_accuracy(cfg.experts, cfg.data, cfg.split, cfg.routers, cfg.device, cfg.humaneval)
    if cfg.out:
        atomic_write_text(Path(cfg.out), json.dumps(report, indent=2) + "\n")
    return report
