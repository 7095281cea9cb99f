"""Published reference numbers the report draws beside measured ones, each with its source named.

Only numbers a paper states for a model codebabel registers, in the benchmark and metric it measures. Add a
model by adding a :class:`Published` entry here (docs/report.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    model: str  # the registered name the measured runs carry (summary.json "source")
    paper_model: str  # the model as the source names it
    source: str  # where the numbers are printed
    benchmark: str
    metric: str
    #: language (codebabel's short name) -> percent
    scores: dict[str, float]
    note: str = ""


PUBLISHED: tuple[Published, ...] = (
    Published(
        model="qwen2.5-coder-0.5b",
        paper_model="Qwen2.5-Coder-0.5B-Instruct",
        source="Qwen2.5-Coder Technical Report (Hui et al., 2024, arXiv:2409.12186), tables 16-17",
        benchmark="humaneval",
        metric="pass@1",
        # HumanEval (Python) 61.6 and MultiPL-E's 8 languages; MultiPL-E's own Python number is 62.8
        scores={"py": 61.6, "cpp": 43.5, "java": 46.2, "php": 52.8, "ts": 50.3, "cs": 62.7, "sh": 27.8,
                "js": 50.3},
        note="Python: HumanEval (MultiPL-E Python: 62.8); bf16 weights, greedy",
    ),
)


def published_for(model: str, benchmark: str, metric: str = "pass@1") -> Published | None:
    """The published numbers for a registered model on a benchmark, if any."""
    for p in PUBLISHED:
        if p.model == model and p.benchmark == benchmark.lower() and p.metric == metric:
            return p
    return None
