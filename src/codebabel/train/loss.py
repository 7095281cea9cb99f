"""Causal-LM loss without materialising ``[tokens x vocab]`` logits (``loss_chunk_tokens`` in a recipe).

transformers computes ``lm_head`` over every position, then cross-entropy: for SmolLM2 at 4x256 that is
four 49k-wide fp32 tensors alive at once (logits, log-probabilities and both their gradients), ~0.8 GB — more
than everything LoRA trains. Here the decoder body runs as usual; then only the labelled positions go
through ``lm_head`` + cross-entropy, ``chunk`` tokens at a time, each chunk under
``torch.utils.checkpoint`` so its logits are recomputed in the backward pass instead of kept. The result is
the same loss (sum over labelled tokens / ``num_items_in_batch``, as transformers' ``ForCausalLMLoss``).
Liger's fused linear cross-entropy does this in Triton on GPUs; this works everywhere, CPU included.

It applies when the model's logits are exactly ``lm_head(hidden)`` (:data:`PLAIN_HEAD` architectures, a
plain ``nn.Linear`` head, no LoRA on it) and the model is not wrapped for distribution (DDP/FSDP/DeepSpeed
must see their own forward); otherwise :func:`chunked_lm_loss` returns None and the model's loss is used.
"""

from __future__ import annotations

#: model types whose causal-LM logits are a plain linear head on the decoder's last hidden state
PLAIN_HEAD = frozenset({"llama", "mistral", "qwen2", "qwen3", "starcoder2", "gpt_bigcode", "gpt2", "phi3"})


def _ce_sum(hidden, labels, weight, bias):
    import torch.nn.functional as F

    return F.cross_entropy(F.linear(hidden, weight, bias).float(), labels, reduction="sum")


def chunked_lm_loss(model, inputs: dict, num_items_in_batch, chunk: int):
    """The loss of ``model`` on ``inputs`` (``input_ids``, ``labels``, optional ``position_ids``), or None
    where the chunked path does not apply."""
    import torch
    from torch import nn
    from torch.utils.checkpoint import checkpoint

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "model_type", None) not in PLAIN_HEAD or "labels" not in inputs:
        return None
    head, body = base.get_output_embeddings(), base.get_decoder()
    if type(head) is not nn.Linear or body is None or body is base:
        return None
    hidden = body(**{k: v for k, v in inputs.items() if k in ("input_ids", "position_ids", "attention_mask")},
                  use_cache=False).last_hidden_state
    labels = inputs["labels"][:, 1:].reshape(-1)
    hidden = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    keep = labels != -100
    hidden, labels = hidden[keep], labels[keep]
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, labels.numel(), chunk):
        total = total + checkpoint(_ce_sum, hidden[start:start + chunk], labels[start:start + chunk], head.weight,
                                   head.bias, use_reentrant=False)
    count = num_items_in_batch if num_items_in_batch is not None else max(labels.numel(), 1)
    return total / count
