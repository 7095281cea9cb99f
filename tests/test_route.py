"""Routed LoRA experts: the gate pools real tokens only, the soft mixture equals PEFT's experts, the expert
chosen for a prompt never changes while it generates (merged, unmerged or mixed batches), and
`codebabel route train-experts` trains experts, gate and n-gram router, resumes, and retrains only what a new
language needs."""

import json
import textwrap
from pathlib import Path

import pytest
import torch

from codebabel.errors import CodebabelError

LANGS = ["cpp", "js", "php"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("route") / "tiny")


@pytest.fixture(scope="module")
def random_run(tiny, tmp_path_factory):
    """A routing run folder with three random (non-zero) LoRA experts on the tiny model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = tmp_path_factory.mktemp("run")
    for k, lang in enumerate(LANGS):
        torch.manual_seed(100 + k)
        base = AutoModelForCausalLM.from_pretrained(tiny)
        cfg = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                         init_lora_weights=False)  # random B: every expert changes the output
        get_peft_model(base, cfg).save_pretrained(run / "experts" / lang / "adapter")
        (run / "experts" / lang / "recipe.json").write_text(json.dumps({"model": str(tiny)}))
    return run


def _gate(model, langs, seed=0):
    from codebabel.route.gate import Gate

    torch.manual_seed(seed)
    gate = Gate(model.get_input_embeddings().weight.shape[1], langs)
    torch.nn.init.normal_(gate.proj.weight, std=1.0)  # an arbitrary trained-looking gate
    return gate


def test_pad_tokens_do_not_change_the_gate(random_run):
    from codebabel.route.gate import masked_max_pool
    from codebabel.route.run import load_experts

    model, tok, langs = load_experts(random_run)
    gate = _gate(model, langs)
    with torch.no_grad():  # a pad token whose embedding would win every max (SmolLM2 pads with EOS, not zeros)
        model.get_input_embeddings().weight[tok.pad_token_id] = 100.0
    short = "<cpp> int main() { return 0; } <py>"
    long_ = "<php> <?php echo 1 + 2; $x = [1, 2, 3]; foreach ($x as $v) { echo $v; } <py>"
    alone = tok([short], add_special_tokens=False, return_tensors="pt")
    embed = model.get_input_embeddings()
    ref_pooled = masked_max_pool(embed(alone["input_ids"]), alone["attention_mask"])
    ref = gate.logits(model, alone["input_ids"], alone["attention_mask"])
    for side in ("left", "right"):
        tok.padding_side = side
        batch = tok([long_, short], add_special_tokens=False, padding=True, return_tensors="pt")
        assert batch["attention_mask"][1].sum() < batch["attention_mask"].shape[1]  # the short one is padded
        emb = embed(batch["input_ids"])
        # the pooled features are a max, exact whatever the batch: bit-identical alone and padded
        torch.testing.assert_close(masked_max_pool(emb, batch["attention_mask"])[1], ref_pooled[0], rtol=0, atol=0)
        # the logits go through a matmul whose summation order depends on the batch shape on some CPUs
        # (4.8e-7 seen): equal to float32 rounding, far below what a pad reaching the max changes
        got = gate.logits(model, batch["input_ids"], batch["attention_mask"])
        torch.testing.assert_close(got[1], ref[0], rtol=1e-5, atol=1e-5)
        # without the mask the pads would reach the max: the checks above can fail
        unmasked = masked_max_pool(emb, torch.ones_like(batch["attention_mask"]))[1]
        assert not torch.equal(unmasked, masked_max_pool(emb, batch["attention_mask"])[1])
        assert (gate(emb, torch.ones_like(batch["attention_mask"]))[1] - ref[0]).abs().max() > 1e-3
    with pytest.raises(ValueError):
        masked_max_pool(torch.zeros(1, 3, 4), torch.zeros(1, 3))


def test_a_code_pooling_gate_routes_the_same_whatever_the_comments_say(random_run, tmp_path):
    """gate.pool code: comments stay out of the max — a long prose doc comment, alike in every language, won
    most of it and sent HumanEval's long PHP prompts to JavaScript —, so the comment above the code never moves
    the route; `//` inside a string is code; a prompt of comments alone pools every token (the `all` gate's
    answer); the pool is saved with the gate."""
    from codebabel.route.gate import Gate, routing_probabilities
    from codebabel.route.run import load_experts

    model, tok, langs = load_experts(random_run)
    code = 'function f($x) {\n  return "a//b" . $x;\n}'
    docs = ["// Return x.", "// " + "Given a grid of N rows and a length k, find the minimum path. " * 4,
            "/* a block\n * comment */"]
    prompts = [f"<code> <?php\n{doc}\n{code} <py>" for doc in docs]
    weights = _gate(model, langs).state_dict()
    gates = {}
    for pool in ("all", "code"):
        gates[pool] = Gate(weights["proj.weight"].shape[1], langs, pool)
        gates[pool].load_state_dict(weights)
    probs = {pool: routing_probabilities(g, model, tok, prompts) for pool, g in gates.items()}
    for row in probs["code"][1:]:  # the same pooled tokens: equal up to the batch's matmul rounding
        torch.testing.assert_close(row, probs["code"][0], rtol=1e-5, atol=1e-6)
    assert (probs["all"][1] - probs["all"][0]).abs().max() > 1e-3  # pooling everything, the comment moves it
    only_comments = ["<code> // nothing but a comment\n/* and another */ <py>"]
    torch.testing.assert_close(routing_probabilities(gates["code"], model, tok, only_comments),
                               routing_probabilities(gates["all"], model, tok, only_comments), rtol=0, atol=0)
    gates["code"].save(tmp_path / "g", {})
    loaded = Gate.load(tmp_path / "g")
    assert loaded.pool == "code" and json.loads((tmp_path / "g" / "gate.json").read_text())["pool"] == "code"
    torch.testing.assert_close(routing_probabilities(loaded, model, tok, prompts), probs["code"])


def test_soft_mixture_equals_peft_experts_and_trains_the_gate(random_run):
    from codebabel.route.gate import SoftMixture
    from codebabel.route.run import load_experts

    model, tok, langs = load_experts(random_run)
    ids = tok(["def f(a):\n    return a + 1\n", "x = [1, 2, 3]\nprint(x)\n"], add_special_tokens=False,
              padding=True, return_tensors="pt")
    mixture = SoftMixture(model, langs)
    with torch.no_grad():
        for pick in ([0, 2], [1, 1]):  # one-hot weights = PEFT's own forward with that adapter per row
            mixture.weights = torch.nn.functional.one_hot(torch.tensor(pick), len(langs)).float()
            with mixture:
                mixed = model(**ids).logits
            peft = model(**ids, adapter_names=[langs[i] for i in pick]).logits
            torch.testing.assert_close(mixed, peft, rtol=1e-4, atol=1e-4)
        with model.disable_adapter():
            base = model(**ids).logits
        mixture.weights = torch.zeros(2, len(langs))  # zero weights = the base model
        with mixture:
            torch.testing.assert_close(model(**ids).logits, base, rtol=1e-4, atol=1e-4)
    model(**ids)  # the hooks are gone after the block: the active adapter is used again
    # the weights get gradients through every layer (the gate's training signal)
    w = torch.full((2, len(langs)), 1 / len(langs), requires_grad=True)
    mixture.weights = w
    with mixture:
        model(**ids).logits.sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_the_expert_never_changes_during_generation(random_run):
    """Each prompt keeps its routed expert for every decoding step, in every mode, and gets exactly the tokens
    its expert alone would give; the gate runs once per routed batch, never while decoding."""
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer
    from transformers import AutoModelForCausalLM

    from codebabel.config import SamplingConfig
    from codebabel.generate.hf import HFBackend
    from codebabel.generate.routed import RoutedBackend
    from codebabel.route.gate import Gate
    from codebabel.route.routing import GateRouter
    from codebabel.route.run import expert_adapter, load_experts

    model, tok, langs = load_experts(random_run)
    _gate(model, langs).save(random_run / "router", {"model": "tiny"})
    assert Gate.load(random_run / "router").experts == langs
    prompts = ["<cpp> int main() { return 0; } <py>", "<php> <?php echo 7; <py>", "<code> let x = 1; <py>",
               "<js> console.log(2) <py>"]
    router = GateRouter(random_run, model, tok)
    experts = router.route(prompts)
    assert router.calls == 1 and set(experts) <= set(langs)
    experts[1] = None  # a prompt with no expert (e.g. the tag router on <code>) runs on the base model
    sampling = SamplingConfig(max_new_tokens=12)

    seen: list = []
    lora = next(m for m in model.modules() if isinstance(m, LoraLayer))
    hook = lora.register_forward_hook(lambda m, a, kw, out: seen.append(kw.get("adapter_names")), with_kwargs=True)
    outputs = {}
    for mode in ("mixed", "merge", "unmerged"):
        seen.clear()
        outputs[mode] = [c[0].text for c in RoutedBackend(model, tok, batch_size=4, mode=mode).generate(
            prompts, experts, sampling, stop=[])]
        if mode == "mixed":  # one batch, every decoding step with the same expert per row
            assert len(seen) > 1 and all(s == [e or "__base__" for e in
                                                 (experts[i] for i in _length_order(tok, prompts))] for s in seen)
    hook.remove()
    assert router.calls == 1  # generation never ran the gate
    assert not any(getattr(m, "merged", False) for m in model.modules() if isinstance(m, LoraLayer))

    for i, (prompt, expert) in enumerate(zip(prompts, experts, strict=True)):
        base = AutoModelForCausalLM.from_pretrained(_model_path(random_run))
        alone = PeftModel.from_pretrained(base, str(expert_adapter(random_run, expert))) if expert else base
        want = HFBackend(alone.eval(), tok).generate([prompt], sampling, stop=[])[0][0].text
        for mode, texts in outputs.items():
            assert texts[i] == want, (mode, i, expert)


def _model_path(run: Path) -> str:
    return json.loads((run / "experts" / LANGS[0] / "recipe.json").read_text())["model"]


def _length_order(tok, prompts):
    lengths = [len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    return sorted(range(len(prompts)), key=lambda i: -lengths[i])


# -- training: experts, gate, routers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair_files(tiny, tmp_path_factory):
    from codebabel.data.pairs import load_pairs, prepare_pairs

    d = tmp_path_factory.mktemp("pairs")
    for lang in (*LANGS, "java"):
        pairs = load_pairs("jsonl", str(ROOT / "data" / "pairs" / f"{lang}.jsonl"), lang, split="train")
        prepare_pairs(pairs[:6], lang, d / f"{lang}-train.jsonl", model=str(tiny), split="train", pct=100)
    return d


def _recipe(root: Path, tiny: Path, pairs: Path, langs: list[str], gate_steps: int = 4) -> Path:
    p = root / "route.yaml"
    p.write_text(textwrap.dedent(f"""\
        model: {tiny}
        name: x2py
        output: {root / 'runs'}
        languages: [{', '.join(langs)}]
        expert:
          lora: {{r: 4, alpha: 32, targets: [q_proj, k_proj, v_proj, o_proj, down_proj]}}
          data: ["{pairs}/{{lang}}-{{split}}.jsonl"]
          max_steps: 2
          batch_size: 2
          seq_len: 512
          lr: 1e-2
        gate: {{steps: {gate_steps}, batch_size: 6, lr: 1e-2, warmup_steps: 1, save_every: 2, completion_tokens: 16,
                label_weight: 1.0}}
        """))
    return p


def test_train_experts_then_add_a_language(tiny, pair_files, tmp_path, cli):
    from codebabel.route.run import load_experts

    recipe = _recipe(tmp_path, tiny, pair_files, LANGS)
    r = cli("route", "train-experts", str(recipe))
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "runs" / "x2py"
    gate = json.loads((run / "router" / "gate.json").read_text())
    assert gate["experts"] == LANGS and gate["gate"]["steps"] == 4
    from codebabel.route.run import expert_fingerprints

    assert gate["expert_weights"] == expert_fingerprints(run, LANGS)  # a retrained expert → a new gate
    metrics = [json.loads(x) for x in (run / "router" / "gate-metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    assert (run / "router" / "ngram.json").is_file() and not (run / "router" / "gate-checkpoint.pt").exists()
    model, _, langs = load_experts(run)
    assert langs == LANGS and set(model.peft_config) == set(LANGS)
    # each expert is a separate adapter: they differ
    a = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert not torch.equal(a[next(n for n in a if ".cpp." in n)], a[next(n for n in a if ".js." in n)])

    stamps = {lang: (run / "experts" / lang / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
              for lang in LANGS}
    gate_stamp = (run / "router" / "gate.safetensors").stat().st_mtime_ns
    r = cli("route", "train-experts", str(recipe))  # nothing to do
    assert r.returncode == 0 and "already trained for these experts" in r.stderr, r.stderr[-2000:]
    assert (run / "router" / "gate.safetensors").stat().st_mtime_ns == gate_stamp

    r = cli("route", "train-experts", str(_recipe(tmp_path, tiny, pair_files, [*LANGS, "java"])))
    assert r.returncode == 0, r.stderr[-3000:]
    for lang in LANGS:  # the old experts are untouched; a java expert and a new gate appear
        assert (run / "experts" / lang / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == stamps[lang]
    assert (run / "experts" / "java" / "adapter" / "adapter_config.json").is_file()
    assert json.loads((run / "router" / "gate.json").read_text())["experts"] == [*LANGS, "java"]

    r = cli("route", "accuracy", str(run), "--data", str(ROOT / "data" / "pairs" / "php.jsonl"),
            "--data", str(ROOT / "data" / "pairs" / "java.jsonl"), "--out", str(tmp_path / "acc.json"))
    assert r.returncode == 0, r.stderr[-2000:]
    acc = json.loads((tmp_path / "acc.json").read_text())
    assert acc["tag"]["tagged"]["accuracy"]["php"] == 1.0 and acc["tag"]["hidden"]["min_accuracy"] == 0.0
    assert acc["ngram"]["hidden"]["confusion"]["java"]["java"] >= 5
    assert acc["gate"]["hidden"]["n"] == 12 and acc["gate"]["tagged"]["accuracy"]["cpp"] is None


def test_gate_training_resumes_to_the_same_gate(tiny, pair_files, tmp_path):
    """Stopped after 2 of 4 steps (checkpoint at step 2), resumed: the same gate as an uninterrupted run."""
    from safetensors.torch import load_file

    from codebabel.route.experts import train_experts
    from codebabel.route.gate import train_gate
    from codebabel.route.recipe import load_route_recipe
    from codebabel.route.run import load_experts

    recipe = load_route_recipe(_recipe(tmp_path, tiny, pair_files, LANGS[:2]))
    train_experts(recipe)
    run = recipe.run_dir
    full = load_file(run / "router" / "gate.safetensors")
    short = recipe
    model, tok, _ = load_experts(run)
    folder = tmp_path / "resumed"
    # a run killed after its step-2 checkpoint: train 2 steps of the 4-step schedule, keep the checkpoint
    import codebabel.route.gate as gate_mod

    calls = {"n": 0}
    real = gate_mod._save_checkpoint

    def stop_after_first(*a, **kw):
        real(*a, **kw)
        calls["n"] += 1
        raise KeyboardInterrupt

    gate_mod._save_checkpoint = stop_after_first
    try:
        with pytest.raises(KeyboardInterrupt):
            train_gate(short, model, tok, folder)
    finally:
        gate_mod._save_checkpoint = real
    assert (folder / "gate-checkpoint.pt").is_file() and not (folder / "gate.safetensors").exists()
    summary = train_gate(short, model, tok, folder)
    assert summary["resumed_from"] == 2
    resumed = load_file(folder / "gate.safetensors")
    for k in full:
        torch.testing.assert_close(resumed[k], full[k], rtol=1e-5, atol=1e-6)


def test_a_label_only_gate_never_runs_the_backbone_and_learns_the_language(tiny, pair_files, tmp_path):
    """gate.lm_weight 0: the gate is trained as a classifier of the source language over the embedding output; no
    step runs the model (seconds on a CPU for any model size), and it routes its training prompts right (here
    pooling the code alone, `pool: code`, in training as in routing)."""
    import dataclasses

    from codebabel.data.pairs import split_tags
    from codebabel.route.experts import train_experts
    from codebabel.route.gate import Gate, gate_rows, routing_probabilities, train_gate
    from codebabel.route.recipe import load_route_recipe
    from codebabel.route.run import load_experts

    recipe = load_route_recipe(_recipe(tmp_path, tiny, pair_files, LANGS, gate_steps=1))
    train_experts(recipe)
    recipe = dataclasses.replace(recipe, gate=dataclasses.replace(recipe.gate, lm_weight=0.0, steps=60, lr=5e-2,
                                                                    hide_language_fraction=1.0, pool="code"))
    model, tok, _ = load_experts(recipe.run_dir)
    calls = []
    hook = model.get_base_model().model.layers[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        summary = train_gate(recipe, model, tok, tmp_path / "gate")
    finally:
        hook.remove()
    assert calls == [] and summary["last"]["lm_loss"] == 0.0
    gate = Gate.load(tmp_path / "gate")
    assert gate.pool == "code"
    rows = gate_rows(recipe)
    prompts = [f"<code> {split_tags(r['prompt'])[1]} <py>" for lang in LANGS for r in rows[lang]]
    truth = [lang for lang in LANGS for _ in rows[lang]]
    routed = [gate.experts[i] for i in routing_probabilities(gate, model, tok, prompts).argmax(-1).tolist()]
    assert sum(a == b for a, b in zip(routed, truth, strict=True)) / len(truth) >= 0.9


def test_route_recipe_errors(tiny, tmp_path, cli):
    from codebabel.route.recipe import load_route_recipe

    base = f"model: {tiny}\nexpert: {{data: ['p/{{lang}}-{{split}}.jsonl']}}\n"
    cases = {
        "languages: [cpp, klingon]": "klingon",
        "languages: [cpp]": "at least two",
        "languages: [cpp, c++]": "twice",
        "languages: [cpp, js]\ngate: {stepz: 3}": "unknown key 'stepz'",
        "languages: [cpp, js]\ngate: {hide_language_fraction: 2}": "hide_language_fraction",
        "languages: [cpp, js]\ngate: {lm_weight: 0}": "nothing trains the gate",
        "languages: [cpp, js]\ngate: {pool: words}": "gate.pool 'words' is not one of all, code",
    }
    for extra, message in cases.items():
        p = tmp_path / "r.yaml"
        p.write_text(base + extra + "\n")
        with pytest.raises(CodebabelError, match=message):
            load_route_recipe(p)
    p.write_text(base + "languages: [cpp, js]\n")
    r = load_route_recipe(p, ["expert.lr=1e-3"])
    assert r.expert_recipe("js").stage_list()[-1][1].data == ("p/js-{split}.jsonl",)
    assert r.expert_recipe("js").lr == 1e-3 and r.expert_recipe("js").name == "js"
    p.write_text(base.replace("expert: {", "expert: {model: x, ") + "languages: [cpp, js]\n")
    r = cli("route", "train-experts", str(p))
    assert r.returncode == 2 and "expert.model is set by the routing recipe" in r.stderr
    r = cli("route", "accuracy", str(tmp_path / "nowhere"), "--data", "x.jsonl")
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = cli("evaluate", "translation", "--data", str(ROOT / "data" / "pairs" / "js.jsonl"), "--out",
            str(tmp_path / "o"), "--model", str(tiny), "--router", "dice")
    assert r.returncode == 2 and "--router 'dice' is unknown" in r.stderr


# -- translation evaluation ---------------------------------------------------------------------------------------


def test_translation_scores_judge_by_running(tmp_path):
    """A reference translation is correct (same stdout and exit status as the source); one that prints
    something else, or crashes, is not, however similar its text."""
    import shutil

    from codebabel.config import ExecutionConfig
    from codebabel.data.pairs import read_pairs
    from codebabel.evaluate.translation import TranslationConfig, _execute, _score

    if shutil.which("bwrap") is None or shutil.which("node") is None:
        pytest.skip("needs bubblewrap and node (scripts/setup.sh installs them)")
    pair = next(p for p in read_pairs(ROOT / "data" / "pairs" / "js.jsonl") if p.split == "test")
    ref = pair.code["py"]
    wrong = ref.replace("print(", "print('x', ", 1)
    crash = ref + "\nraise SystemExit(3)\n"
    rows = [{"id": pair.id, "source": "js", "expert": "js", "completion": c, "finish_reason": "eos", "n_tokens": 1}
            for c in (ref, wrong, crash)]
    cfg = TranslationConfig(data=(), out=str(tmp_path), execution=ExecutionConfig(workers=2))
    done = _execute(rows, {pair.id: pair}, cfg, console=None)
    assert [r["correct"] for r in done] == [True, False, False]
    assert done[2]["returncode"] == 3 and done[0]["source_status"] == "ok"
    per = _score(rows[:1], done[:1], {pair.id: pair}, ["js"], cfg)["per_language"]["js"]
    assert per["execution_accuracy"] == 1.0 and per["exact_match"] == 1.0 and per["codebleu"] > 0.99
    per = _score(rows, done, {pair.id: pair}, ["js"], cfg)["per_language"]["all"]
    assert per["n"] == 3 and abs(per["execution_accuracy"] - 1 / 3) < 1e-9 and per["exact_match"] == pytest.approx(1 / 3)


def test_evaluate_translation_cli(random_run, tiny, tmp_path, cli):
    import shutil

    if shutil.which("bwrap") is None or shutil.which("php") is None:
        pytest.skip("needs bubblewrap and php (scripts/setup.sh installs them)")
    from codebabel.route.gate import Gate

    if not (random_run / "router" / "gate.safetensors").is_file():
        Gate(32, LANGS).save(random_run / "router", {"model": str(tiny)})
    out = tmp_path / "tr"
    args = ["evaluate", "translation", "--data", str(ROOT / "data" / "pairs" / "php.jsonl"), "--experts",
            str(random_run), "--out", str(out), "--max-new-tokens", "8", "--limit", "3", "--workers", "2"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_language"]["php"]["n"] == 3 and summary["per_language"]["php"]["source_ok"] == 3
    assert summary["routing"]["n"] == 3 and "data-flow" in summary["dataflow_convention"].lower()
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["expert"] in LANGS for r in rows)
    r = cli(*args)  # same settings: the generations are reused, the scores recomputed
    assert r.returncode == 0 and "reusing" in r.stderr, r.stderr[-2000:]
    r = cli("evaluate", "translation", "--data", str(ROOT / "data" / "pairs" / "php.jsonl"), "--model", str(tiny),
            "--out", str(tmp_path / "base"), "--max-new-tokens", "8", "--limit", "2", "--workers", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "routing" not in json.loads((tmp_path / "base" / "summary.json").read_text())


def test_evaluate_translation_runs_the_experts_on_llamacpp(random_run, tiny, tmp_path, cli):
    """Issue 15: with a base that has a GGUF, `evaluate translation --experts` generates on llama.cpp (one base
    model, each expert a GGUF LoRA adapter) and says so; `--backend hf` keeps PEFT."""
    import importlib.util
    import shutil

    if shutil.which("bwrap") is None or shutil.which("php") is None:
        pytest.skip("needs bubblewrap and php (scripts/setup.sh installs them)")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    from tests.tiny import write_tiny_gguf

    gguf = write_tiny_gguf(tiny, tmp_path / "tiny.gguf")
    args = ["evaluate", "translation", "--data", str(ROOT / "data" / "pairs" / "php.jsonl"), "--experts",
            str(random_run), "--model", str(gguf), "--router", "tag", "--max-new-tokens", "8", "--limit", "3",
            "--workers", "2"]
    r = cli(*args, "--out", str(tmp_path / "cpp"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "generation backend: llamacpp for 3 experts" in r.stderr, r.stderr[-2000:]
    rows = [json.loads(x) for x in (tmp_path / "cpp" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and {r["expert"] for r in rows} == {"php"}
    r = cli(*args, "--backend", "hf", "--out", str(tmp_path / "hf"))
    assert r.returncode == 0 and "generation backend: hf for 3 experts" in r.stderr, r.stderr[-2000:]


def test_pairs_without_an_id_are_each_scored_against_their_own_source(tmp_path):
    """Issue 14, item 1: two id-less pairs used to share the key "", so 3 programs ran instead of 4 and both
    rows were scored against the second pair's source and reference."""
    import shutil

    from codebabel.config import ExecutionConfig
    from codebabel.errors import CodebabelError
    from codebabel.evaluate.translation import TranslationConfig, _execute, keyed_pairs

    if shutil.which("bwrap") is None or shutil.which("node") is None:
        pytest.skip("needs bubblewrap and node (scripts/setup.sh installs them)")
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"js": "console.log(1)", "py": "print(1)"}\n{"js": "console.log(2)", "py": "print(2)"}\n')
    cfg = TranslationConfig(data=(str(data),), out=str(tmp_path / "o"), split="all",
                            execution=ExecutionConfig(workers=2))
    pairs = keyed_pairs(cfg)
    assert [p.id for p in pairs] == ["pairs.jsonl#1", "pairs.jsonl#2"]
    rows = [{"id": p.id, "source": "js", "expert": None, "completion": p.code["py"], "finish_reason": "eos",
             "n_tokens": 1} for p in pairs]
    done = _execute(rows, {p.id: p for p in pairs}, cfg, console=None)
    assert [r["correct"] for r in done] == [True, True]
    assert [r["reference"] for r in done] == ["print(1)", "print(2)"]
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"id": "a", "js": "console.log(1)", "py": "print(1)"}\n'
                     '{"id": "a", "js": "console.log(2)", "py": "print(2)"}\n')
    with pytest.raises(CodebabelError, match="pair id 'a'"):
        keyed_pairs(TranslationConfig(data=(str(twice),), out=str(tmp_path / "o2")))


def test_function_pairs_are_judged_by_their_tests(tmp_path):
    """codebabel synth's pairs are functions (nothing to print): a translation is correct when the function's
    Python tests pass after it, under the Python name, the source's name, or as a static method of a class."""
    import shutil

    from codebabel.config import ExecutionConfig
    from codebabel.data.pairs import Pair, read_pairs, write_pairs
    from codebabel.evaluate.translation import TranslationConfig, _execute, _score, keyed_pairs
    from codebabel.synth.dataset import python_tests

    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap (scripts/setup.sh installs it)")
    java = "class Problem {\n    public static long addOne(long x) { return x + 1; }\n}\n"
    ref = "def add_one(x):\n    return x + 1\n"
    tests = python_tests(["assert add_one(1) == 2", "assert add_one(-1) == 0"], "add_one", "addOne")
    data = tmp_path / "pairs.jsonl"
    write_pairs(data, [Pair({"java": java, "py": ref}, {"id": "synth/f", "split": "test", "tests": tests})])
    cfg = TranslationConfig(data=(str(data),), out=str(tmp_path / "o"), execution=ExecutionConfig(workers=2))
    pairs = keyed_pairs(cfg)
    assert pairs[0].tests == read_pairs(data)[0].tests == tests
    completions = [ref, "def addOne(x):\n    return x + 1\n",
                   "class Problem:\n    @staticmethod\n    def addOne(x):\n        return x + 1\n",
                   "def add_one(x):\n    return x + 2\n", "def something_else(x):\n    return x + 1\n",
                   "def add_one(x) return x\n"]
    rows = [{"id": "synth/f", "source": "java", "expert": None, "completion": c, "finish_reason": "eos",
             "n_tokens": 1} for c in completions]
    done = _execute(rows, {p.id: p for p in pairs}, cfg, console=None)
    assert [r["correct"] for r in done] == [True, True, True, False, False, False]
    assert {r["judged_by"] for r in done} == {"tests"} and done[5]["status"] == "syntax_error"
    per = _score(rows, done, {p.id: p for p in pairs}, ["java"], cfg)["per_language"]["java"]
    assert per["execution_accuracy"] == pytest.approx(0.5) and per["judged_by_tests"] == 6
