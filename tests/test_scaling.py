"""Jobs on more than one machine (docs/scaling.md): sandboxed execution over a Ray cluster (a local one of two
nodes on 127.0.0.1, one of them killed mid-run), corpus builds through datatrove's Ray and Slurm executors
(Slurm as a dry run: sbatch and scontrol are stand-ins that record their arguments), and the accelerate launch
configs in configs/accelerate/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codebabel.errors import CodebabelError
from tests.conftest import ROOT, needs_bwrap, run_cli
from tests.raycluster import LocalCluster, free_port

ray_installed = pytest.mark.skipif(__import__("importlib").util.find_spec("ray") is None,
                                   reason="ray not installed: pip install -e '.[ray]'")


def one_line_error(r, *needles: str) -> None:
    assert r.returncode == 2, r.stdout[-1000:] + r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and all(n in lines[0] for n in needles), r.stderr[-2000:]


# -- the flags ---------------------------------------------------------------------------------------------
def test_an_unknown_executor_or_an_address_without_ray_is_one_line():
    one_line_error(run_cli("evaluate", "--reference", "--executor", "spark"), "--executor 'spark': unknown",
                   "local, ray")
    one_line_error(run_cli("evaluate", "--reference", "--ray-address", "10.0.0.1:6379"),
                   "--ray-address 10.0.0.1:6379: only with --executor ray")
    one_line_error(run_cli("evaluate", "translation", "--data", "pairs.jsonl", "--out", "x", "--executor", "spark"),
                   "--executor 'spark': unknown")
    one_line_error(run_cli("corpus", "build", "--language", "py", "--out", "x", "--executor", "dask", "src"),
                   "--executor 'dask': unknown", "local, ray, slurm")
    one_line_error(run_cli("corpus", "build", "--language", "py", "--out", "x", "--executor", "slurm", "src"),
                   "--executor slurm: pass --slurm-partition")


@ray_installed
def test_a_cluster_nobody_runs_is_refused_at_once(tmp_path):
    t = time.monotonic()
    address = f"127.0.0.1:{free_port()}"
    r = run_cli("evaluate", "--reference", "--limit", "3", "--executor", "ray", "--ray-address", address,
                "--results-dir", str(tmp_path))
    one_line_error(r, f"--ray-address {address}: no Ray cluster answers there", "ray start --head")
    assert time.monotonic() - t < 60  # Ray alone would wait for the address for minutes
    assert not any(tmp_path.iterdir())  # refused before a run folder exists
    one_line_error(run_cli("evaluate", "--reference", "--executor", "ray", "--ray-address", "nowhere",
                           "--results-dir", str(tmp_path)), "expected HOST:PORT")


def test_a_synth_recipe_names_its_executor(tmp_path):
    from codebabel.synth.recipe import load_synth_recipe
    from codebabel.synth.transtests import execution_config

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"sources: [{tmp_path}]\nlanguages: [lua]\n")
    cfg = execution_config(load_synth_recipe(recipe, ["execution.executor=ray", "execution.ray_address=10.0.0.1:6379"]))
    assert (cfg.executor, cfg.ray_address) == ("ray", "10.0.0.1:6379")
    with pytest.raises(CodebabelError, match="execution.executor 'spark' is unknown"):
        load_synth_recipe(recipe, ["execution.executor=spark"])


def test_ray_not_installed_says_how_to_install_it(monkeypatch):
    from codebabel.execute.ray_pool import ray_module

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(CodebabelError, match=r"Ray is not installed here; pip install 'codebabel\[ray\]'"):
        ray_module()


def test_where_programs_run_is_not_in_the_settings_hash():
    from codebabel.config import EvalConfig
    from codebabel.evaluate.functional import run_settings

    local = EvalConfig.from_flags(reference=True)
    ray = EvalConfig.from_flags(reference=True, executor="ray", ray_address="10.0.0.1:6379", workers=64)
    assert run_settings(local, "python", "reference", None, None) == run_settings(ray, "python", "reference", None,
                                                                                   None)


# -- execution on a Ray cluster ----------------------------------------------------------------------------
@pytest.mark.slow
@ray_installed
@needs_bwrap
def test_evaluate_on_a_ray_cluster_survives_a_lost_node_and_resumes_without_loss_or_duplicates(tmp_path):
    """`evaluate --reference --executor ray` on a head and a worker node; the worker node is killed (every
    process at once, as a lost machine) once some results are stored; the run, and the same command run again,
    end with each of the 164 problems exactly once, all ok."""
    results = tmp_path / "results"
    with LocalCluster(cpus=(1, 1)) as cluster:
        # --cold: one interpreter per program, so the run lasts long enough to lose a node in the middle
        cmd = ["evaluate", "--reference", "--cold", "--executor", "ray", "--ray-address", cluster.address,
               "--results-dir", str(results)]
        log = tmp_path / "first.log"
        with log.open("w") as f:  # the first run's output, in a file (a pipe nobody reads could fill and stall it)
            first = subprocess.Popen([sys.executable, "-m", "codebabel", *cmd], stdout=f, stderr=subprocess.STDOUT)
        stored = 0
        deadline = time.monotonic() + 120
        while first.poll() is None and stored < 24 and time.monotonic() < deadline:
            found = list(results.glob("*/results.jsonl"))
            stored = len(found[0].read_text().splitlines()) if found else 0
            time.sleep(0.05)
        assert first.poll() is None, "the run ended before the node could be killed: " + log.read_text()[-2000:]
        cluster.kill_node(1)
        first.wait(timeout=180)
        err = log.read_text()
        # Ray runs the lost node's tasks again on the head; were its retries spent, the run would stop with one
        # line and keep what it stored
        assert first.returncode == 0 or (first.returncode == 2 and "run the same command again" in err), err[-2000:]
        again = run_cli(*cmd, timeout=180)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "pass@1" in again.stdout and "100.00%" in again.stdout
    path = Path(again.stdout.strip().splitlines()[-1].removeprefix("results: "))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    ids = [r["task_id"] for r in rows]
    assert len(ids) == 164 and len(set(ids)) == 164  # nothing lost, nothing twice
    assert {r["status"] for r in rows} == {"ok"}
    summary = json.loads((path.parent / "summary.json").read_text())
    assert summary["passed"] == 164 and summary["status_counts"] == {"ok": 164}


@pytest.mark.slow
@ray_installed
def test_corpus_build_on_a_ray_cluster_is_the_local_build(tmp_path, sources, tokenizer):
    from codebabel.config import CorpusConfig
    from codebabel.data.build import build_corpus

    local = build_corpus(CorpusConfig(language="py", out=str(tmp_path / "local"), sources=(str(sources),),
                                      tokenizer=tokenizer, tasks=2))
    with LocalCluster(cpus=(1, 1)) as cluster:  # the command as a user runs it (its own process: the driver)
        r = run_cli("corpus", "build", "--language", "py", "--out", str(tmp_path / "ray"), "--tokenizer", tokenizer,
                    "--tasks", "2", "--executor", "ray", "--ray-address", cluster.address, str(sources))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "points to a local filesystem" not in r.stderr  # datatrove's warning, said once in docs/scaling.md
    ray = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert ray["settings_hash"] == local["settings_hash"]  # where it ran is not a setting of the corpus
    assert ray["splits"] == local["splits"] and ray["steps"] == local["steps"]
    assert ray["splits"]["train"]["files"] > 0
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")


# -- corpus build on Slurm, as a dry run -------------------------------------------------------------------
SBATCH = """#!/bin/sh
# stand-in for Slurm's sbatch: records its arguments and the job script, answers as sbatch does
n=$(( $(ls "$SBATCH_LOG" | wc -l) + 1 ))
mkdir -p "$SBATCH_LOG/$n"
for a in "$@"; do echo "$a" >> "$SBATCH_LOG/$n/args"; last="$a"; done
cp "$last" "$SBATCH_LOG/$n/script"
echo "Submitted batch job $((1000 + n))"
"""
SCONTROL = """#!/bin/sh
# stand-in for `scontrol show hostnames NODELIST` (datatrove reads the job's nodes with it)
echo "$4"
"""


@pytest.mark.slow
def test_corpus_build_on_slurm_submits_job_arrays_then_the_same_command_writes_the_corpus(
        tmp_path, sources, tokenizer, monkeypatch):
    from codebabel.config import CorpusConfig
    from codebabel.data.build import build_corpus

    bin_dir, log = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir()
    log.mkdir()
    for name, text in (("sbatch", SBATCH), ("scontrol", SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SBATCH_LOG", str(log))
    cfg = CorpusConfig(language="py", out=str(tmp_path / "c"), sources=(str(sources),), tokenizer=tokenizer, tasks=2,
                       executor="slurm", slurm_partition="cpu", slurm_time="01:00:00")

    submitted = build_corpus(cfg)["submitted"]
    assert submitted["jobs"] == ["1001", "1003"]  # stage 1's array, stage 2's (1002, 1004: datatrove's stats merges)
    calls = [(d / "args").read_text().splitlines() for d in sorted(log.iterdir(), key=lambda p: int(p.name))]
    scripts = [(d / "script").read_text() for d in sorted(log.iterdir(), key=lambda p: int(p.name))]
    assert len(calls) == 4
    assert "--dependency=afterok:1001" in calls[2]  # stage 2 waits for stage 1
    stage1, stage2 = scripts[0], scripts[2]
    for line in ("#SBATCH --partition=cpu", "#SBATCH --time=01:00:00", "#SBATCH --array=0-1",
                 "#SBATCH --job-name=codebabel-corpus-stage1", "launch_pickled_pipeline"):
        assert line in stage1, stage1
    assert "#SBATCH --array=0-0" in stage2 and "codebabel-corpus-stage2" in stage2
    assert not (tmp_path / "c" / "manifest.json").exists()  # nothing is a corpus before the jobs ran

    # what Slurm would run: each array task's command, as the job script names it (srun left out)
    work = Path(submitted["logs"])
    for stage, tasks in (("logs1", 2), ("logs2", 1)):
        for task in range(tasks):
            r = subprocess.run(["launch_pickled_pipeline", str(work / stage / "executor.pik")], capture_output=True,
                               text=True, timeout=300, env={**os.environ, "SLURM_ARRAY_TASK_ID": str(task),
                                                            "RUN_OFFSET": "0", "SLURM_NODELIST": "node1"})
            assert r.returncode == 0, r.stderr[-3000:]

    manifest = build_corpus(cfg)  # the same command, once the jobs have finished: nothing more is submitted
    assert len(list(log.iterdir())) == 4
    local = build_corpus(CorpusConfig(language="py", out=str(tmp_path / "local"), sources=(str(sources),),
                                      tokenizer=tokenizer, tasks=2))
    assert manifest["splits"] == local["splits"] and manifest["steps"] == local["steps"]
    assert rows(tmp_path / "c") == rows(tmp_path / "local")


# -- training: the accelerate launch configs ---------------------------------------------------------------
@pytest.mark.slow
def test_the_ddp_config_launches_two_processes_that_train_together(tmp_path, tiny_model):
    """configs/accelerate/ddp.yaml as it is but for the process count (8 GPUs there, 2 CPU processes here:
    ACCELERATE_USE_CPU makes accelerate use gloo on the CPU for the config's multi-GPU setup)."""
    corpus = tmp_path / "corpus"
    (corpus / "train").mkdir(parents=True)
    with (corpus / "train" / "00000.jsonl").open("w") as f:
        for i in range(40):
            f.write(json.dumps({"id": str(i), "text": f"def f{i}(a, b):\n    return a + {i} * b\n" * 3}) + "\n")
    (corpus / "manifest.json").write_text(json.dumps({"language": "py"}))
    recipe = tmp_path / "ddp.yaml"
    recipe.write_text(f"model: {tiny_model}\noutput: {tmp_path}/runs\ndata: [{corpus}]\nbatch_size: 2\nseq_len: 64\n"
                      "lr: 1e-3\nlora: {r: 4, alpha: 8}\nmax_steps: 2\nname: ddp\n")
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--config_file",
                        str(ROOT / "configs/accelerate/ddp.yaml"), "--num_processes", "2", "-m", "codebabel", "train",
                        str(recipe)], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    steps = [json.loads(x) for x in (tmp_path / "runs/ddp/metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [1, 2]
    # one process reads at most batch_size x seq_len = 128 tokens a step: more means both processes trained
    assert steps[0]["tokens_seen"] > 128
    assert (tmp_path / "runs/ddp/adapter/adapter_model.safetensors").is_file()


def launch_env(config: str, monkeypatch) -> dict[str, str]:
    """The environment `accelerate launch --config_file CONFIG` gives each process, as accelerate builds it."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(ROOT / "configs/accelerate" / config), "x.py"])
    args, defaults, mp_from_config = _validate_launch_command(args)
    if args.use_deepspeed:  # as accelerate's launch_command does before its DeepSpeed launcher
        args.deepspeed_fields_from_accelerate_config = ",".join(
            [*defaults.deepspeed_config, *(["mixed_precision"] if mp_from_config else [])])
        env = prepare_deepspeed_cmd_env(args)[1]
    else:
        env = prepare_multi_gpu_env(args)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert args.num_processes == 8 and args.mixed_precision == "bf16"
    return env


def test_the_fsdp_config_parses_into_accelerates_fsdp2_plugin(monkeypatch):
    from accelerate import FullyShardedDataParallelPlugin

    env = launch_env("fsdp.yaml", monkeypatch)
    assert env["ACCELERATE_USE_FSDP"] == "true"
    plugin = FullyShardedDataParallelPlugin()  # reads and checks the launcher's FSDP_* variables
    assert plugin.fsdp_version == 2
    assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT" and plugin.reshard_after_forward is True
    assert plugin.cpu_ram_efficient_loading is True


def test_the_deepspeed_config_parses_into_zero3(monkeypatch):
    from accelerate import DeepSpeedPlugin

    env = launch_env("deepspeed-zero3.yaml", monkeypatch)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    plugin = DeepSpeedPlugin()  # built from the launcher's ACCELERATE_DEEPSPEED_* variables (deepspeed not needed)
    zero = plugin.deepspeed_config["zero_optimization"]
    assert plugin.zero_stage == 3 and plugin.zero3_init_flag is True
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert zero["offload_param"]["device"] == zero["offload_optimizer"]["device"] == "none"


# -- fixtures ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return tiny_model


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Twenty small Python files, two of them exact copies (dropped by the dedup)."""
    src = tmp_path_factory.mktemp("src")
    for i in range(20):
        body = f"def f{i % 18}(x):\n    \"\"\"Return x scaled by {i % 18}.\"\"\"\n    y = x * {i % 18} + {i % 18}\n" \
               f"    return [y for _ in range({i % 18})]\n"
        (src / f"m{i}.py").write_text(body)
    return src


def rows(corpus: Path) -> dict[str, list[dict]]:
    """Every row of a corpus, per split, in id order (the shards' names depend on the task count)."""
    return {split: sorted((json.loads(line) for f in sorted((corpus / split).glob("*.jsonl"))
                           for line in f.read_text().splitlines()), key=lambda r: r["id"])
            for split in ("train", "validation", "test")}
