"""Tiny random-weight models (HF folder and GGUF file) built in well under a second, for tests and demos.

``build_tiny_model(folder)`` writes a 2-layer Llama with a byte-level BPE tokenizer trained on a few code
strings (so any text round-trips), ChatML special tokens and a chat template. ``write_tiny_gguf`` writes
the same weights and tokenizer as a GGUF file that both transformers and llama.cpp load, laid out like
SmolLM2's (llama architecture, "gpt2" tokenizer, "smollm" pre-tokenizer).
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 (as in SmolLM2)
_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n    return n % 2 == 0\n',
    "public static int max(int[] xs) {\n    int m = xs[0];\n    for (int x : xs) if (x > m) m = x;\n    return m;\n}\n",
    "function f(x) { return x * 2; }\n// comment\n# another\nclass A:\n    pass\n",
    "for i in range(10):\n    print(i)\nif __name__ == '__main__':\n    main()\n",
    "0123456789 ()[]{}<>=+-*/%!&|^~.,:;'\"`@$?\\\t\n",
]


def build_tiny_tokenizer(vocab_size: int = 384):
    """A byte-level BPE ``PreTrainedTokenizerFast`` (SmolLM2-like special tokens and chat template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(folder: str | Path, seed: int = 0, hidden_size: int = 32, layers: int = 2) -> Path:
    """Write a random 2-layer Llama + tokenizer HF folder to ``folder``; returns it."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tok = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        initializer_range=0.5,  # peaky logits: greedy decoding has no near-ties
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # special tokens get logit 0 while others are spread wide: EOS is (almost) never
        model.lm_head.weight[[tok.convert_tokens_to_ids(s) for s in SPECIALS]] = 0.0  # picked
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _permute(w, n_head: int, n_head_kv: int | None = None):
    # llama.cpp's layout for q/k rows (see convert_hf_to_gguf.py LlamaModel.permute); transformers undoes it.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(hf_folder: str | Path, out_file: str | Path) -> Path:
    """Write the tiny HF model at ``hf_folder`` as an F32 GGUF file (llama arch, gpt2/smollm tokenizer)."""
    import json

    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    hf_folder, out_file = Path(hf_folder), Path(out_file)
    cfg = json.loads((hf_folder / "config.json").read_text())
    tj = json.loads((hf_folder / "tokenizer.json").read_text())
    weights = load_file(str(hf_folder / "model.safetensors"))
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]

    w = gguf.GGUFWriter(str(out_file), "llama")
    w.add_name("tiny-random-llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(
        float(cfg.get("rope_parameters", {}).get("rope_theta", cfg.get("rope_theta", 10000.0)))
    )
    w.add_rope_dimension_count(cfg["hidden_size"] // n_head)
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab = tj["model"]["vocab"]
    added = {t["content"]: t["id"] for t in tj["added_tokens"]}
    tokens = [""] * cfg["vocab_size"]
    types = [gguf.TokenType.NORMAL] * cfg["vocab_size"]
    for text, i in vocab.items():
        tokens[i] = text
    for text, i in added.items():
        tokens[i], types[i] = text, gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(added["<|im_start|>"])
    w.add_eos_token_id(added["<|im_end|>"])
    w.add_pad_token_id(added["<|im_end|>"])
    w.add_unk_token_id(added["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    def t(name: str):
        return np.ascontiguousarray(weights[name].astype(np.float32))

    w.add_tensor("token_embd.weight", t("model.embed_tokens.weight"))
    w.add_tensor("output_norm.weight", t("model.norm.weight"))
    w.add_tensor("output.weight", t("lm_head.weight"))
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", t(p + "input_layernorm.weight"))
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(t(p + "self_attn.q_proj.weight"), n_head, n_head))
        w.add_tensor(f"blk.{i}.attn_k.weight", _permute(t(p + "self_attn.k_proj.weight"), n_head, n_kv))
        w.add_tensor(f"blk.{i}.attn_v.weight", t(p + "self_attn.v_proj.weight"))
        w.add_tensor(f"blk.{i}.attn_output.weight", t(p + "self_attn.o_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", t(p + "post_attention_layernorm.weight"))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", t(p + "mlp.gate_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_up.weight", t(p + "mlp.up_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_down.weight", t(p + "mlp.down_proj.weight"))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out_file
