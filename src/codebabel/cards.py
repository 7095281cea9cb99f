"""Model and dataset cards with Hugging Face front matter: a ``README.md`` whose YAML header the Hub reads.

Cards are written with huggingface_hub's own classes (``ModelCard`` / ``ModelCardData``, ``DatasetCard`` /
``DatasetCardData``), so ``ModelCard.load(path)`` / ``DatasetCard.load(path)`` read back what is written here.
:func:`write_card` writes a card from a body and metadata, merging the front matter a folder's README already
has (PEFT's adapter card: ``library_name``, ``pipeline_tag``, ``tags``); :func:`refresh_card` updates only the
front matter and keeps the body. The metadata themselves are made by the modules that know the folder (a
training run: train/card.py; a synthetic dataset: synth/dataset.py; a corpus: data/card.py; an evaluation run:
report/hub.py); this module knows the format only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from codebabel.errors import CodebabelError
from codebabel.store import atomic_write_text

CardKind = Literal["model", "dataset"]
CARD = "README.md"

#: licence identifiers the Hub accepts in ``license:`` (the common ones); any other is ``other`` + ``license_name``
HUB_LICENSES = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc", "unlicense", "zlib",
    "bsl-1.0", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "gpl", "gpl-2.0",
    "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "epl-1.0", "epl-2.0", "artistic-2.0",
    "afl-3.0", "ecl-2.0", "wtfpl", "postgresql", "odc-by", "odbl", "pddl", "openrail", "llama2", "llama3",
})
#: the Hub's ``size_categories`` buckets, by number of rows
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
          (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"))


def _classes(kind: CardKind):
    from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, ModelCardData

    return (ModelCard, ModelCardData) if kind == "model" else (DatasetCard, DatasetCardData)


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for a dataset of ``rows`` rows."""
    for bound, name in _SIZES:
        if rows < bound:
            return name
    return "n>1T"


def license_fields(spdx: str | None) -> dict[str, str]:
    """``license`` (and ``license_name`` for ``other``) from an SPDX expression; ``{}`` when none is known.
    ``MIT`` → ``{"license": "mit"}``; ``PSF-2.0`` → ``{"license": "other", "license_name": "psf-2.0"}``."""
    if not spdx or spdx.strip().lower() in ("unknown", "none", "noassertion"):
        return {}
    key = spdx.strip().lower()
    if key in HUB_LICENSES:
        return {"license": key}
    return {"license": "other", "license_name": re.sub(r"[^a-z0-9.]+", "-", key).strip("-")}


def language_tag(display_name: str) -> str:
    """A programming language's Hub tag from its display name: ``C#`` → ``csharp``, ``C++`` → ``cpp``."""
    return re.sub(r"[^a-z0-9]+", "-", display_name.lower().replace("#", "sharp").replace("+", "p")).strip("-")


def read_card(path: str | Path) -> tuple[dict[str, Any], str]:
    """The front matter (a dict, empty when there is none) and the body of a card file; ``({}, "")`` when the
    file does not exist. A front matter that is not valid YAML is a one-line error naming the file."""
    from huggingface_hub.repocard import RepoCard

    p = Path(path)
    if not p.is_file():
        return {}, ""
    text = p.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}, text
    try:
        card = RepoCard(text, ignore_metadata_errors=True)
    except ValueError as e:
        raise CodebabelError(f"card '{p}': its front matter is not valid YAML ({_first_line(e)}); fix or delete "
                             "the block between the --- lines") from None
    return card.data.to_dict(), card.text


def write_card(path: str | Path, kind: CardKind, metadata: dict[str, Any], body: str, keep: bool = True) -> Path:
    """Write ``path`` (a ``README.md``): the front matter is ``metadata`` over the front matter the file already
    has (``keep``; a key set to ``None`` in ``metadata`` is removed, ``tags`` are merged), then ``body``."""
    old = read_card(path)[0] if keep else {}
    return _save(Path(path), kind, merge_metadata(old, metadata), body)


def refresh_card(path: str | Path, kind: CardKind, metadata: dict[str, Any], default_body: str = "") -> Path:
    """Update a card's front matter with ``metadata`` and keep its body (``default_body`` where the file has none)."""
    old, body = read_card(path)
    return _save(Path(path), kind, merge_metadata(old, metadata), body if body.strip() else default_body)


def merge_metadata(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``: ``None`` removes a key, ``tags`` keep the old ones first (without duplicates); a new
    ``base_model`` (or its removal) drops the old ``base_model:...`` tags, which name the old one."""
    out = dict(old)
    if "base_model" in new and out.get("tags"):
        out["tags"] = [t for t in out["tags"] if not (isinstance(t, str) and t.startswith("base_model:"))]
    for key, value in new.items():
        if value is None:
            out.pop(key, None)
        elif key == "tags":
            tags = [t for t in (out.get("tags") or []) if isinstance(t, str)]
            out["tags"] = tags + [t for t in value if t not in tags]
        else:
            out[key] = value
    return out


def _save(path: Path, kind: CardKind, metadata: dict[str, Any], body: str) -> Path:
    card_cls, data_cls = _classes(kind)
    data = data_cls(**metadata)
    card = card_cls(f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}")
    atomic_write_text(path, str(card) if str(card).endswith("\n") else f"{card}\n")
    return path


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
