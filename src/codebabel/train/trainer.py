"""``codebabel train RECIPE.yaml``: LoRA or full fine-tuning on corpora or JSONL samples, stage after stage, resumable.

The loop is transformers' ``Trainer`` (optimizer, schedule, gradient accumulation, checkpointing, exact
resume: optimizer, scheduler, RNG states and the data position come back from the newest checkpoint) with
PEFT for LoRA. What is ours is short: the data (corpus folders or text / prompt→completion JSONL → tokens,
train/samples.py → padding-free packed rows, train/packing.py), the stages (each its own ``Trainer`` over the same model, a ``done.json`` marking a
finished one so ``--resume`` skips it), and the measurements (metrics.jsonl: loss, learning rate, useful
tokens, tokens/s, peak memory per step; summary.json at the end).

Layout: ``<output>/<name>/stages/<stage>/checkpoint-N/`` (Trainer's), ``.../<stage>/done.json``,
``<output>/<name>/{adapter|model}/`` (the result, with a model card: train/card.py), ``metrics.jsonl``,
``summary.json``; with ``report_to``, ``tensorboard/<stage>/`` (TensorBoard event files) and ``wandb/`` (a W&B
run, offline unless ``WANDB_MODE`` says otherwise).
"""

from __future__ import annotations

import json
import math
import os
import resource
import secrets
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console

from codebabel.errors import CodebabelError
from codebabel.hub import HubTarget, hub_token, push_folder
from codebabel.models.loading import ModelSource, attach_adapter, load_model, load_tokenizer, resolve
from codebabel.models.lora import lora_targets
from codebabel.store import atomic_write_text
from codebabel.train.card import write_merged_card, write_model_card
from codebabel.train.loss import chunked_lm_loss
from codebabel.train.packing import PackedCollator
from codebabel.train.recipe import Hyper, Recipe, trackers
from codebabel.train.samples import check_data, packed_rows


def run_dir(recipe: Recipe) -> Path:
    return Path(recipe.output).expanduser() / recipe.name


def _peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _metrics_callback(path: Path, stage: str):
    from transformers import TrainerCallback

    class Metrics(TrainerCallback):
        """One JSON line per logged step: stage, step, loss, lr, useful tokens, tokens/s, peak memory."""

        def __init__(self):
            self.t0 = time.monotonic()
            self.tokens0: int | None = None

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.monotonic()
            self.tokens0 = state.num_input_tokens_seen

        def on_log(self, args, state, control, logs=None, **kw):
            if not logs or "loss" not in logs or not state.is_world_process_zero:
                return
            elapsed = time.monotonic() - self.t0
            tokens = state.num_input_tokens_seen - (self.tokens0 or 0)
            row = {"stage": stage, "step": state.global_step, "loss": logs["loss"],
                   "lr": logs.get("learning_rate"), "grad_norm": logs.get("grad_norm"),
                   "tokens_seen": state.num_input_tokens_seen,
                   "tokens_per_s": round(tokens / elapsed, 2) if elapsed > 0 else None,
                   "peak_memory_mb": round(_peak_memory_mb(), 1), "elapsed_s": round(elapsed, 2)}
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    return Metrics()


def _args(hyper: Hyper, recipe: Recipe, out: Path, has_eval: bool):
    import torch
    from transformers import TrainingArguments

    bf16 = hyper.dtype == "bfloat16" or (hyper.dtype == "auto" and torch.cuda.is_available()
                                         and torch.cuda.is_bf16_supported())
    report = trackers(recipe)
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=hyper.batch_size,
        per_device_eval_batch_size=hyper.batch_size,
        gradient_accumulation_steps=hyper.grad_accum,
        learning_rate=hyper.lr,
        lr_scheduler_type=hyper.schedule,
        warmup_steps=hyper.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=hyper.weight_decay,
        optim=hyper.optimizer,
        num_train_epochs=hyper.epochs,
        max_steps=hyper.max_steps if hyper.max_steps is not None else -1,
        save_strategy="steps",
        save_steps=hyper.save_every,
        eval_strategy="steps" if (has_eval and hyper.eval_every) else "no",
        eval_steps=hyper.eval_every,
        logging_steps=1,
        seed=recipe.seed,
        data_seed=recipe.seed,
        bf16=bf16,
        fp16=hyper.dtype == "float16",
        # LoRA: use_reentrant=False, so frozen inputs still pass gradients; transformers >= 5.x names it
        # activation_checkpointing (the old name warns), older releases only know gradient_checkpointing
        **_checkpointing_args(hyper.gradient_checkpointing, {"use_reentrant": False}),
        report_to=report or "none",
        run_name=recipe.name,
        remove_unused_columns=False,
        include_num_input_tokens_seen="all",  # counted from the batch's num_real_tokens (_PackedTrainer)
        use_cpu=recipe.device == "cpu" or not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def _checkpointing_args(on: bool, kwargs: dict) -> dict:
    """The activation-checkpointing arguments under the name this transformers release uses."""
    import inspect

    from transformers import TrainingArguments

    name = ("activation_checkpointing" if "activation_checkpointing" in inspect.signature(TrainingArguments).parameters
            else "gradient_checkpointing")
    return {name: on, f"{name}_kwargs": kwargs}


def release_freed_memory() -> bool:
    """Make glibc's malloc serve every allocation over 64 KiB with its own mmap, so a freed tensor's memory
    goes back to the OS at once instead of staying in a fragmented heap (the default raises that threshold
    as large blocks are freed, and peak RSS grows to about twice the live tensors). Costs page faults: slower
    steps (bench/training.py, docs/performance.md). True where it applied (Linux with glibc)."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, 64 * 1024))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def _tensorboard_into(trainer, folder: Path) -> None:
    """Point the TensorBoard callback ``report_to`` added at ``folder`` (the run's ``tensorboard/<stage>/``)
    instead of transformers' default (``TENSORBOARD_LOGGING_DIR``, else ``<stage>/runs/<date>_<host>``)."""
    from transformers.integrations import TensorBoardCallback

    for cb in trainer.callback_handler.callbacks:
        if isinstance(cb, TensorBoardCallback):
            cb.logging_dir = str(folder)


class _WandbRun:
    """The W&B run of a training run when ``report_to`` names wandb: started here, before the stages, so it is
    offline (unless ``WANDB_MODE`` is set: the user's choice wins) and lives in ``RUN/wandb/``; transformers'
    ``WandbCallback`` logs into it (it only starts a run where none is active); finished after the last stage.
    Its id is kept in ``RUN/wandb/run-id``, so a resumed training run (``--resume``) logs into the same W&B run
    (``resume="allow"``; offline, each start is a folder of that id, and ``wandb sync`` joins them). Only the
    main process of a launch has one."""

    def __init__(self, recipe: Recipe, root: Path, main: bool):
        self.on = main and "wandb" in trackers(recipe)
        self.recipe, self.root = recipe, root

    def __enter__(self):
        if self.on:
            import wandb

            id_file = self.root / "wandb" / "run-id"
            if id_file.is_file():
                run_id = id_file.read_text().strip()
            else:
                run_id = secrets.token_hex(4)  # W&B's own ids: 8 lowercase letters or digits
                atomic_write_text(id_file, run_id + "\n")
            wandb.init(project=os.environ.get("WANDB_PROJECT", "codebabel"), name=self.recipe.name,
                       group=self.recipe.name, job_type="train", dir=str(self.root), config=_plain(self.recipe),
                       mode=None if os.environ.get("WANDB_MODE") else "offline", id=run_id, resume="allow")
        return self

    def __exit__(self, kind, value, tb):
        if self.on:
            import wandb

            wandb.finish(exit_code=0 if kind is None else 1)
        return False


def _model(recipe: Recipe, hyper: Hyper, previous: Path | None, source: ModelSource):
    """The model for a stage: the base (+ fresh LoRA) for the first, the previous stage's result after."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    if hyper.method == "full" and previous is not None:
        model = AutoModelForCausalLM.from_pretrained(previous)
        model.config.use_cache = False
        return model
    model, _ = load_model(source, device="cpu", dtype="float32")
    model.config.use_cache = False  # packed batches need it (see train/packing.py)
    if hyper.method == "full":
        return model
    if previous is not None:
        return PeftModel.from_pretrained(model, str(previous), is_trainable=True)
    cfg = LoraConfig(r=recipe.lora.r, lora_alpha=recipe.lora.alpha, lora_dropout=recipe.lora.dropout,
                     target_modules=list(recipe.lora.targets or lora_targets(model)), task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        # PEFT (0.21) still reads the model's old `is_gradient_checkpointing` property, which transformers 5
        # deprecates with a FutureWarning users can do nothing about; only that message is silenced
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        return get_peft_model(model, cfg)


def _packed_trainer(loss_chunk: int):
    """transformers' ``Trainer`` that counts tokens seen as the real (non-pad) tokens of a packed batch
    (``num_real_tokens`` from :class:`~codebabel.train.packing.PackedCollator`), keeps that count out of the
    model's inputs, and trains with the chunked loss (train/loss.py) where it applies."""
    import torch
    from transformers import Trainer

    class PackedTrainer(Trainer):
        def _track_num_input_tokens(self, inputs):
            real = torch.as_tensor(inputs["num_real_tokens"], device=self.args.device, dtype=torch.int64)
            self.state.num_input_tokens_seen += self.accelerator.gather(real).sum().item()

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs = {k: v for k, v in inputs.items() if k != "num_real_tokens"}
            single = (self.accelerator.num_processes == 1 and self.args.n_gpu <= 1 and not self.is_deepspeed_enabled
                      and not self.is_fsdp_enabled)
            if (loss_chunk and single and model.training and not return_outputs and self.model_accepts_loss_kwargs
                    and num_items_in_batch is not None):
                loss = chunked_lm_loss(model, inputs, num_items_in_batch, loss_chunk)
                if loss is not None:
                    return loss
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    return PackedTrainer


def newest_checkpoint(folder: Path) -> Path | None:
    ckpts = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


def train(recipe: Recipe, resume: bool = False, console: Console | None = None, callbacks: list | None = None,
          source: ModelSource | None = None, push_to: HubTarget | None = None) -> dict:
    """Run every stage of ``recipe``; returns (and writes) the summary. The recipe's data are checked and the
    first stage's data loaded before the run folder is made. ``source``: ``recipe.model`` already resolved (a
    job that trains several runs on one model resolves it once); else it is resolved here, once. ``push_to``:
    upload the result (``adapter/`` or ``model/``, with its card) to that Hub repo once every stage is done
    (a failed push leaves the finished run; ``--resume`` pushes again without training)."""
    from accelerate import PartialState

    console = console or Console(stderr=True)
    dist = PartialState()  # one process, or each of `accelerate launch`'s: only the main one writes files
    root = run_dir(recipe)
    exists = root.exists() and any(root.iterdir())
    dist.wait_for_everyone()  # every process has looked before the main one writes
    if exists and not resume:
        raise CodebabelError(f"run folder '{root}' exists; pass --resume to continue it, or change 'name'/'output'")
    # the inputs are checked before anything is written: a failed command never blocks the corrected one
    plan = recipe.stage_list()
    pending = [(name, hyper) for name, hyper in plan if not (root / "stages" / name / "done.json").is_file()]
    check_recipe_data(recipe, pending)
    if push_to is not None:
        hub_token()  # no token: refused before anything trains
    if recipe.release_memory:
        release_freed_memory()
    source = resolve(source or recipe.model)
    tokenizer = load_tokenizer(source, padding_side="right")
    first = _stage_data(*pending[0], tokenizer) if pending else None
    created = not root.exists()
    if dist.is_main_process:
        root.mkdir(parents=True, exist_ok=True)
        (root / "recipe.json").write_text(json.dumps(_plain(recipe), indent=2) + "\n")
    dist.wait_for_everyone()
    try:
        with _WandbRun(recipe, root, dist.is_main_process):
            out = _train_stages(recipe, plan, root, tokenizer, first, resume, console, callbacks, dist, source)
    except BaseException:
        # nothing trained by this invocation in a folder it made: leave nothing behind (a rerun starts afresh)
        if created and dist.is_main_process and not _trained_anything(root):
            import shutil

            shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        if push_to is not None and dist.is_main_process:
            out["pushed"] = push_folder(out["result"], push_to, "model", f"codebabel train: {recipe.name}")
    finally:
        dist.wait_for_everyone()  # a failed push (main process) must not leave the others waiting
    return out


def check_recipe_data(recipe: Recipe, stages: list[tuple[str, Hyper]] | None = None) -> None:
    """Every stage's data (train split, and the eval split where ``eval_every`` is set) exists, decodes and
    holds samples; one-line errors, nothing written (train/samples.py ``check_data``)."""
    for name, hyper in recipe.stage_list() if stages is None else stages:
        if not check_data(hyper.data, hyper.split, hyper.split):
            raise CodebabelError(f"stage '{name}': no training samples in {', '.join(hyper.data)} ({hyper.split})")
        if hyper.eval_every and not check_data(hyper.data, hyper.eval_split, hyper.split):
            raise _no_eval_split(name, hyper)


def _no_eval_split(name: str, hyper: Hyper) -> CodebabelError:
    return CodebabelError(f"stage '{name}': eval_every is set but {', '.join(hyper.data)} has no "
                          f"'{hyper.eval_split}' samples; write {{split}} in a JSONL path or unset eval_every")


def _trained_anything(root: Path) -> bool:
    return any(root.glob("stages/*/checkpoint-*")) or any(root.glob("stages/*/done.json"))


def _stage_data(name: str, hyper: Hyper, tokenizer) -> tuple:
    """A stage's packed training rows, what was read, and its eval rows (empty unless ``eval_every``)."""
    rows, read = packed_rows(hyper.data, hyper.split, hyper.split, tokenizer, hyper.seq_len)
    if not rows:
        raise CodebabelError(f"stage '{name}': no training tokens in {', '.join(hyper.data)} ({hyper.split})")
    eval_rows = []
    if hyper.eval_every:
        eval_rows, _ = packed_rows(hyper.data, hyper.eval_split, hyper.split, tokenizer, hyper.seq_len)
        if not eval_rows:
            raise _no_eval_split(name, hyper)
    return rows, read, eval_rows


def _train_stages(recipe: Recipe, plan: list[tuple[str, Hyper]], root: Path, tokenizer, first: tuple | None,
                  resume: bool, console: Console, callbacks: list | None, dist, source: ModelSource) -> dict:
    from transformers import set_seed

    metrics = root / "metrics.jsonl"
    previous: Path | None = None
    stages: list[dict] = []
    t0 = time.monotonic()
    for name, hyper in plan:
        stage_dir = root / "stages" / name
        done = stage_dir / "done.json"
        if done.is_file():
            stages.append(json.loads(done.read_text()))
            previous = stage_dir / "final"
            console.print(f"stage {name}: already done", highlight=False)
            continue
        rows, read, eval_rows = first if first is not None else _stage_data(name, hyper, tokenizer)
        first = None
        set_seed(recipe.seed)  # LoRA's initial weights come from the global RNG: same seed, same start
        model = _model(recipe, hyper, previous, source)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        cut = (f" ({read.truncated} truncated, {read.dropped} dropped: longer than seq_len)"
               if read.truncated or read.dropped else "")
        console.print(f"stage {name}: {hyper.method}, {read.samples:,} samples{cut}, {read.tokens:,} tokens in "
                      f"{len(rows):,} rows of <= {hyper.seq_len}; {trainable:,} trainable of {total:,} parameters",
                      highlight=False)
        trainer = _packed_trainer(hyper.loss_chunk_tokens)(
            model=model, args=_args(hyper, recipe, stage_dir, bool(eval_rows)), train_dataset=rows,
            eval_dataset=eval_rows or None, data_collator=PackedCollator(tokenizer.pad_token_id or 0),
            processing_class=tokenizer, callbacks=[_metrics_callback(metrics, name), *(callbacks or [])])
        _tensorboard_into(trainer, root / "tensorboard" / name)
        checkpoint = newest_checkpoint(stage_dir) if resume else None
        ts = time.monotonic()
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        final = stage_dir / "final"
        trainer.save_model(str(final))  # weights + tokenizer; the main process writes (gathers FSDP/ZeRO-3 shards)
        summary = {"stage": name, "method": hyper.method, "steps": trainer.state.global_step, "samples": read.samples,
                   "truncated": read.truncated, "dropped": read.dropped,
                   "train_loss": result.training_loss, "tokens": int(trainer.state.num_input_tokens_seen),
                   "wall_s": round(time.monotonic() - ts, 2), "trainable_params": trainable, "total_params": total,
                   "peak_memory_mb": round(_peak_memory_mb(), 1), "resumed_from": checkpoint and checkpoint.name}
        summary["tokens_per_s"] = round(summary["tokens"] / summary["wall_s"], 2) if summary["wall_s"] else None
        if eval_rows:
            ev = trainer.evaluate()
            summary["eval_loss"] = ev["eval_loss"]
            summary["eval_perplexity"] = math.exp(ev["eval_loss"])
        if dist.is_main_process:
            atomic_write_text(done, json.dumps(summary, indent=2) + "\n")
        dist.wait_for_everyone()
        stages.append(summary)
        previous = final
    result_dir = root / ("adapter" if plan[-1][1].method == "lora" else "model")
    out = {"run_dir": str(root), "result": str(result_dir), "stages": stages,
           "wall_s": round(time.monotonic() - t0, 2), "metrics": str(metrics)}
    if dist.is_main_process:
        _publish(recipe, previous, result_dir, stages)
        atomic_write_text(root / "summary.json", json.dumps(out, indent=2) + "\n")
    dist.wait_for_everyone()
    return out


def _publish(recipe: Recipe, final: Path, target: Path, stages: list[dict]) -> Path:
    """Copy the last stage's result to ``target`` (``adapter/`` or ``model/``), with a model card with Hub front
    matter over PEFT's (train/card.py)."""
    import shutil

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(final, target)
    write_model_card(target, _plain(recipe), stages)
    return target


def _plain(recipe: Recipe) -> Any:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(recipe), default=str))


def export_merged(adapter: str, out: str, model: str | None = None, push_to: HubTarget | None = None) -> Path:
    """Merge a LoRA adapter into its base model and save a plain Hugging Face folder (``codebabel export
    --merge``), with a model card (train/card.py ``write_merged_card``). The base is ``model``, else the adapter's
    ``base_model_name_or_path``. ``push_to``: then upload the folder to that Hub repo."""

    apath = Path(adapter).expanduser()
    cfg_path = apath / "adapter_config.json"
    if not cfg_path.is_file():
        raise CodebabelError(f"--adapter {adapter}: no adapter_config.json there; pass a PEFT adapter folder")
    base = model or json.loads(cfg_path.read_text()).get("base_model_name_or_path")
    if not base:
        raise CodebabelError(f"--adapter {adapter}: it does not name its base model; pass --model")
    target = Path(out).expanduser()
    if target.exists() and any(target.iterdir()):
        raise CodebabelError(f"--out {out}: exists and is not empty; choose a new folder")
    if push_to is not None:
        hub_token()  # no token: refused before anything is merged
    base_model, tokenizer = load_model(base, device="cpu", dtype="float32")
    merged = attach_adapter(base_model, apath).merge_and_unload()
    tmp = target.with_name(f".{target.name}.partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    merged.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    write_merged_card(tmp, apath, base, model)
    if target.exists():
        target.rmdir()
    tmp.rename(target)
    if push_to is not None:
        push_folder(target, push_to, "model", f"codebabel export --merge: {apath.name} merged into {base}")
    return target
