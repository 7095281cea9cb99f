"""Synthetic training data for low-resource languages, verified by execution (MultiPL-T's method):
``codebabel synth RECIPE.yaml``. docs/synth.md

Stages, each resumable, each writing the JSONL the next one reads (``RUN = OUTPUT/NAME``):

1. ``functions`` (functions.py) — Python functions with docstrings from a corpus, checked and type-checked;
2. ``tests`` (unittests.py, harness.py) — the teacher's unit tests, run in the sandbox, line coverage measured;
3. ``translate`` (transtests.py) — the tests and prompt in each target language (benchmarks/transpile.py);
4. ``solutions`` (solutions.py, dedup.py) — the teacher's translations, run against the translated tests in the
   sandbox, near duplicates removed;
5. ``dataset`` (dataset.py) — training JSONL, translation pairs, and a dataset card with the yield funnel.

recipe.py reads the recipe, teacher.py builds the teacher (llama.cpp, transformers or an OpenAI-compatible
endpoint), stages.py is a stage's folder, pipeline.py runs them in order.
"""

from codebabel.synth.pipeline import STAGES, run_synth
from codebabel.synth.recipe import SynthRecipe, load_synth_recipe

__all__ = ["STAGES", "SynthRecipe", "load_synth_recipe", "run_synth"]
