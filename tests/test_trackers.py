"""Trackers through a recipe's ``report_to``: TensorBoard event files and an offline W&B run inside the run folder,
each holding the loss metrics.jsonl has; names checked; a missing package is a one-line error."""

import glob
import json
import os
import struct
import textwrap
from pathlib import Path

import pytest

from codebabel.errors import CodebabelError


def corpus(root: Path) -> Path:
    d = root / "python"
    for split, n in (("train", 16), ("validation", 2)):
        (d / split).mkdir(parents=True)
        with (d / split / "00000.jsonl").open("w") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"{split}{i}", "text": f"def f{i}(a, b):\n    return a + {i} * b\n"}) + "\n")
    (d / "manifest.json").write_text(json.dumps({"language": "py"}))
    return d


def recipe_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(textwrap.dedent(body))
    return p


def test_report_to_names_are_checked_and_a_missing_package_is_one_line(tmp_path, monkeypatch):
    import importlib.util

    from codebabel.train.recipe import load_recipe, trackers

    head = f"model: m\ndata: [{tmp_path}]\n"
    assert trackers(load_recipe(recipe_file(tmp_path, head + "report_to: none\n"))) == []
    assert trackers(load_recipe(recipe_file(tmp_path, head + "report_to: [tensorboard, wandb]\n"))) == [
        "tensorboard", "wandb"]
    with pytest.raises(CodebabelError, match=r"report_to 'mlflow' is unknown; use tensorboard, wandb or none"):
        load_recipe(recipe_file(tmp_path, head + "report_to: [tensorboard, mlflow]\n"))
    with pytest.raises(CodebabelError, match="lists none with wandb"):
        load_recipe(recipe_file(tmp_path, head + "report_to: [none, wandb]\n"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(CodebabelError) as e:
        load_recipe(recipe_file(tmp_path, head + "report_to: wandb\n"), ["max_steps=2"])
    msg = str(e.value)
    assert "\n" not in msg and "report_to wandb needs the wandb package" in msg and "pip install wandb" in msg


def wandb_records(path: str) -> list:
    """The records of an offline W&B run file (``run-<id>.wandb``): W&B's LevelDB-style log (a 7-byte file header
    ``:W&B``, 0xBEE1, version; 32 KiB blocks of records, each a 7-byte header — crc32, length, type: full, first,
    middle, last — then its bytes), each record a ``wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert struct.unpack("<4sHB", data[:7]) == (b":W&B", 0xBEE1, 0)
    block, pos, part, out = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, n, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if n == 0 and kind == 0:
            break
        part += data[pos + 7:pos + 7 + n]
        pos += 7 + n
        if kind in (1, 4):  # full, or the last piece of a record
            rec = pb.Record()
            rec.ParseFromString(part)
            out.append(rec)
            part = b""
    return out


def test_tensorboard_and_offline_wandb_log_the_losses_in_the_run_folder(tmp_path, cli):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tests.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    data = corpus(tmp_path)
    recipe = recipe_file(tmp_path, f"""
        model: {model}
        output: {tmp_path}/runs
        name: tracked
        data: [{data}]
        batch_size: 2
        seq_len: 64
        lr: 1e-3
        lora: {{r: 4, alpha: 8}}
        report_to: [tensorboard, wandb]
        stages:
          - name: first
            max_steps: 2
          - name: second
            max_steps: 3
        """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_CONFIG_DIR=str(tmp_path / "wandb-config"), WANDB_CACHE_DIR=str(tmp_path / "wandb-cache"),
               WANDB_DATA_DIR=str(tmp_path / "wandb-data"))
    r = cli("train", str(recipe), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "runs" / "tracked"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = {(x["stage"], x["step"]): x["loss"] for x in rows}
    assert len(losses) == 5
    # TensorBoard: one folder of event files per stage, the loss scalar per step read back
    for stage in ("first", "second"):
        acc = EventAccumulator(str(run / "tensorboard" / stage))
        acc.Reload()
        scalars = {e.step: e.value for e in acc.Scalars("train/loss")}
        assert scalars == pytest.approx({step: loss for (s, step), loss in losses.items() if s == stage}, rel=1e-5)
    assert not (run / "stages" / "first" / "runs").exists()  # not transformers' default place
    # W&B: one offline run (no WANDB_MODE set), in the run folder, named after the recipe, holding the losses
    found = glob.glob(str(run / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(found) == 1, list((run / "wandb").iterdir())
    assert (Path(found[0]).parent / "files").is_dir()
    records = wandb_records(found[0])
    meta = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert meta.display_name == "tracked" and meta.project == "codebabel"
    logged = [json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "history"
              for i in r.history.item if (i.key or "/".join(i.nested_key)) == "train/loss"]
    assert logged == pytest.approx([x["loss"] for x in rows], rel=1e-5)
    assert any(r.WhichOneof("record_type") == "exit" and r.exit.exit_code == 0 for r in records)


def test_a_resumed_training_run_logs_into_the_same_wandb_run(tmp_path, monkeypatch):
    """``train --resume`` starts the W&B run again under the id kept in RUN/wandb/run-id (resume="allow"), so
    ``wandb sync`` joins what both starts logged into one run instead of making a second run of the same name."""
    import time

    import wandb

    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import _WandbRun

    for key in [k for k in os.environ if k.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    for var, sub in (("WANDB_CONFIG_DIR", "config"), ("WANDB_CACHE_DIR", "cache"), ("WANDB_DATA_DIR", "data")):
        monkeypatch.setenv(var, str(tmp_path / f"wandb-{sub}"))
    recipe = load_recipe(recipe_file(tmp_path, f"model: m\nname: resumed\ndata: [{tmp_path}]\nreport_to: wandb\n"))
    root = tmp_path / "run"
    for step in range(2):  # the first start, then the one after an interruption
        with _WandbRun(recipe, root, main=True):
            wandb.log({"train/loss": 1.0 / (step + 1)})
        time.sleep(1.1)  # W&B names an offline run's folder by the second it started
    run_id = (root / "wandb" / "run-id").read_text().strip()
    found = sorted(glob.glob(str(root / "wandb" / "offline-run-*" / "run-*.wandb")))
    assert len(found) == 2 and {Path(f).name for f in found} == {f"run-{run_id}.wandb"}
    metas = [next(r.run for r in wandb_records(f) if r.WhichOneof("record_type") == "run") for f in found]
    assert [m.run_id for m in metas] == [run_id, run_id] and metas[0].display_name == "resumed"
