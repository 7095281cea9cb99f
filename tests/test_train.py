"""Training: a run killed with SIGKILL and resumed gives the same losses and weights as one uninterrupted run,
within a stage and across a stage boundary; outputs load with PEFT; the CLI runs a recipe."""

import json
import math
import random
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

from codebabel.errors import CodebabelError


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from tests.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("train")
    model = build_tiny_model(root / "tiny")
    corpora = {}
    for name in ("python", "ruby"):
        d = root / name
        for split, n in (("train", 40), ("validation", 4)):
            (d / split).mkdir(parents=True)
            rnd = random.Random(f"{name}{split}")
            with (d / split / "00000.jsonl").open("w") as f:
                for i in range(n):
                    text = "".join(f"def f{i}_{j}(a, b):\n    return a + {rnd.randint(0, 99)} * b\n"
                                   for j in range(rnd.randint(1, 6)))
                    f.write(json.dumps({"id": f"{split}{i}", "text": text}) + "\n")
        (d / "manifest.json").write_text(json.dumps({"language": "py" if name == "python" else "rb"}))
        corpora[name] = str(d)
    return root, str(model), corpora


def write_recipe(root: Path, name: str, body: str) -> Path:
    p = root / f"{name}.yaml"
    p.write_text(textwrap.dedent(body))
    return p


def losses(run: Path) -> dict[tuple[str, int], float]:
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        out[(row["stage"], row["step"])] = row["loss"]  # a resumed step overwrites the killed run's
    return out


def weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


KILLER = """
import os, signal, sys
from transformers import TrainerCallback
from codebabel.train.recipe import load_recipe
from codebabel.train.trainer import train

stage, step = sys.argv[2], int(sys.argv[3])

class Kill(TrainerCallback):
    def __init__(self):
        self.stage = None
    def on_train_begin(self, args, state, control, **kw):
        self.stage = os.path.basename(args.output_dir)
    def on_step_end(self, args, state, control, **kw):
        if self.stage == stage and state.global_step == step:
            os.kill(os.getpid(), signal.SIGKILL)

train(load_recipe(sys.argv[1]), callbacks=[Kill()])
"""


def killed_then_resumed(root: Path, recipe: Path, stage: str, step: int) -> dict:
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    r = subprocess.run([sys.executable, "-c", KILLER, str(recipe), stage, str(step)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == -9, r.stderr[-2000:]  # it really was killed
    return train(load_recipe(recipe), resume=True)


BASE = """
model: {model}
output: {root}/runs
data: [{python}]
batch_size: 2
seq_len: 64
save_every: 3
lr: 1e-3
lora: {{r: 4, alpha: 8, dropout: 0.1}}
"""


def test_sigkill_and_resume_gives_the_same_losses_and_weights(setup):
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    root, model, corpora = setup
    body = BASE.format(model=model, root=root, python=corpora["python"]) + "max_steps: 8\n"
    full = train(load_recipe(write_recipe(root, "a", body + "name: a\n")))
    resumed = killed_then_resumed(root, write_recipe(root, "b", body + "name: b\n"), "main", 5)
    a, b = Path(full["run_dir"]), Path(resumed["run_dir"])
    assert resumed["stages"][0]["resumed_from"] == "checkpoint-3"
    la, lb = losses(a), losses(b)
    assert sorted(la) == sorted(lb) == [("main", s) for s in range(1, 9)]
    for key in la:
        assert lb[key] == pytest.approx(la[key], abs=1e-6), key
    wa, wb = weights(a / "adapter"), weights(b / "adapter")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=0)


def test_resume_across_a_stage_boundary(setup):
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    root, model, corpora = setup
    body = BASE.format(model=model, root=root, python=corpora["python"]) + textwrap.dedent(f"""
        stages:
          - name: python
            max_steps: 4
          - name: ruby
            data: [{corpora["ruby"]}]
            max_steps: 5
        """)
    full = train(load_recipe(write_recipe(root, "c", body + "name: c\n")))
    resumed = killed_then_resumed(root, write_recipe(root, "d", body + "name: d\n"), "ruby", 4)
    assert [s["stage"] for s in resumed["stages"]] == ["python", "ruby"]
    assert resumed["stages"][1]["resumed_from"] == "checkpoint-3"
    la, lb = losses(Path(full["run_dir"])), losses(Path(resumed["run_dir"]))
    assert sorted(la) == sorted(lb) and len(la) == 9
    for key in la:
        assert lb[key] == pytest.approx(la[key], abs=1e-6), key
    wa, wb = weights(Path(full["result"])), weights(Path(resumed["result"]))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=0)


def test_outputs_load_and_full_fine_tuning_writes_a_model(setup, cli):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    root, model, corpora = setup
    body = BASE.format(model=model, root=root, python=corpora["python"]) + "max_steps: 2\nname: e\n"
    recipe = write_recipe(root, "e", body)
    r = cli("train", str(recipe), "--set", "method=full", "--set", "eval_every=1")
    assert r.returncode == 0, r.stderr[-2000:]
    result = Path(r.stdout.strip().splitlines()[-1].removeprefix("result: "))
    assert result.name == "model" and "Fine-tuned by `codebabel train` (full)" in (result / "README.md").read_text()
    tuned = AutoModelForCausalLM.from_pretrained(result)
    base = AutoModelForCausalLM.from_pretrained(model)
    assert any(not torch.equal(p, q) for p, q in zip(tuned.parameters(), base.parameters(), strict=True))
    summary = json.loads((result.parent / "summary.json").read_text())["stages"][0]
    assert summary["trainable_params"] == summary["total_params"] and summary["eval_perplexity"] > 1
    rows = [json.loads(x) for x in (result.parent / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows] == [1, 2] and all(x["tokens_per_s"] > 0 and x["peak_memory_mb"] > 0 for x in rows)
    # LoRA: the adapter folder loads with PEFT on the base model
    r = cli("train", str(write_recipe(root, "f", body.replace("name: e", "name: f"))))
    assert r.returncode == 0, r.stderr[-2000:]
    adapter = Path(r.stdout.strip().splitlines()[-1].removeprefix("result: "))
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model), str(adapter))
    assert peft_model.peft_config["default"].r == 4
    # an existing run is not overwritten
    r = cli("train", str(write_recipe(root, "f", body.replace("name: e", "name: f"))))
    assert r.returncode == 2 and "exists; pass --resume" in r.stderr


def test_prompt_completion_pairs_train_with_checkpointing_counting_real_tokens(setup):
    from safetensors.torch import load_file

    from codebabel.models.loading import load_tokenizer
    from codebabel.train.recipe import load_recipe
    from codebabel.train.samples import packed_rows
    from codebabel.train.trainer import train

    root, model, _ = setup
    pairs = root / "pairs"
    pairs.mkdir(exist_ok=True)
    rnd = random.Random(3)
    for split, n in (("train", 24), ("validation", 4)):
        with (pairs / f"{split}.jsonl").open("w") as f:
            for i in range(n):
                a = rnd.randint(0, 99)
                f.write(json.dumps({"prompt": f"<rb> def f{i}(x) x + {a} end <py>",
                                    "completion": f" def f{i}(x):\n    return x + {a}\n" * rnd.randint(1, 3)}) + "\n")
    body = BASE.format(model=model, root=root, python=f'"{pairs}/{{split}}.jsonl"')  # quoted: YAML reads { as a map
    with warnings.catch_warnings(record=True) as caught:  # issue 14, item 9: no FutureWarning reaches users
        warnings.simplefilter("always")
        out = train(load_recipe(write_recipe(root, "p", body + "name: p\nepochs: 1\neval_every: 2\n"
                                                            "gradient_checkpointing: true\n")))
    assert not [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    stage = out["stages"][0]
    rows, stats = packed_rows((str(pairs / "{split}.jsonl"),), "train", "train", load_tokenizer(model), 64)
    assert stage["samples"] == 24 and stage["steps"] == -(-len(rows) // 2)
    assert stage["tokens"] == stats.tokens  # one epoch: every real token once, no pads counted
    assert math.isfinite(stage["eval_loss"])
    lora_b = [v for k, v in load_file(str(Path(out["result"]) / "adapter_model.safetensors")).items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # gradients reached LoRA through checkpointing


def test_a_recipe_without_training_data_is_a_one_line_error(setup, tmp_path):
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    root, model, _ = setup
    p = write_recipe(tmp_path, "g", f"model: {model}\noutput: {tmp_path}\nname: g\ndata: [{tmp_path / 'nope'}]\n")
    with pytest.raises(CodebabelError, match="no such folder"):
        train(load_recipe(p))


def test_export_merge_gives_the_adapters_outputs(tmp_path, cli):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tests.tiny import build_tiny_model

    base = build_tiny_model(tmp_path / "base")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(tmp_path / "adapter")
    r = cli("export", "--merge", "--adapter", str(tmp_path / "adapter"), "--out", str(tmp_path / "merged"),
            "--model", str(base))
    assert r.returncode == 0, r.stderr[-2000:]
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    ids = torch.tensor([[5, 9, 42, 7, 100]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, model(ids).logits, atol=1e-5, rtol=1e-5)
    assert not any("lora" in n for n, _ in merged.named_parameters())
    r = cli("export", "--merge", "--adapter", str(tmp_path / "adapter"), "--out", str(tmp_path / "merged"))
    assert r.returncode == 2 and "exists and is not empty" in r.stderr


@pytest.mark.parametrize("processes", [1, 2])
def test_accelerate_launch_runs_the_same_command(setup, processes):
    """`accelerate launch -m codebabel train RECIPE` unchanged: one process, and two CPU processes (DDP, gloo)."""
    root, model, corpora = setup
    name = f"acc{processes}"
    recipe = write_recipe(root, name, BASE.format(model=model, root=root, python=corpora["python"])
                          + f"max_steps: 3\nname: {name}\n")
    # `accelerate launch ...`, through this interpreter (the console script may not be on PATH)
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--cpu", "--num_processes", str(processes), "--num_machines", "1",
                        "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "codebabel", "train", str(recipe)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    run = root / "runs" / name
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows] == [1, 2, 3]  # logged once, by the main process
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    summary = json.loads((run / "summary.json").read_text())["stages"][0]
    assert summary["steps"] == 3
