"""LoRA target modules per architecture: attention and MLP projections, detected when a recipe names none.

The names are those of the transformers implementations (``model.config.model_type``); for an architecture
not listed, every ``nn.Linear`` except the output head is adapted, which is what PEFT's ``"all-linear"``
does too.
"""

from __future__ import annotations

#: attention q/k/v/o and MLP projections, by ``config.model_type``
TARGETS: dict[str, tuple[str, ...]] = {
    "llama": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "mistral": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "qwen2": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "qwen3": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "gemma": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "gpt_bigcode": ("c_attn", "c_proj", "c_fc"),  # StarCoder/SantaCoder: fused qkv, attention out, MLP in/out
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "codegen": ("qkv_proj", "out_proj", "fc_in", "fc_out"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
}


def lora_targets(model) -> tuple[str, ...]:
    """Module names (suffixes) to adapt in ``model``: the table above, else every Linear but the head."""
    import torch

    known = TARGETS.get(getattr(model.config, "model_type", ""), None)
    if known is not None:
        return known
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
             if isinstance(mod, torch.nn.Linear) and mod is not head}
    return tuple(sorted(names))
