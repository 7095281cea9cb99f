"""A corpus folder's card (``README.md``) with Hub front matter, from its ``manifest.json``.

``codebabel corpus build`` writes the card's text (data/build.py ``dataset_card``); :func:`refresh_corpus_card`
puts the Hub's front matter above it (``codebabel push`` does before uploading a corpus; ``push --card-only``
alone): ``pretty_name``, ``language: code``, the licence where every file has the same known one, ``task_categories:
text-generation``, ``size_categories`` by files, ``source_datasets`` (the Hub datasets it was built from), tags
(``codebabel``, the language), and one ``configs`` entry reading the ``train``/``validation``/``test`` shards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codebabel.cards import CARD, language_tag, license_fields, refresh_card, size_category
from codebabel.errors import CodebabelError
from codebabel.inputs import read_json
from codebabel.languages import get_language

MANIFEST = "manifest.json"
SPLITS = ("train", "validation", "test")


def is_corpus(folder: str | Path) -> bool:
    """A built corpus folder: ``manifest.json`` with the build's steps and splits."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return False
    try:
        m = read_json(path, "manifest")
    except CodebabelError:
        return False
    return isinstance(m, dict) and "splits" in m and "steps" in m


def corpus_card_metadata(manifest: dict[str, Any], folder: str | Path) -> dict[str, Any]:
    """The Hub front matter of a corpus from its manifest (and which split folders hold shards)."""
    folder = Path(folder)
    files = sum(int(s.get("files", 0)) for s in (manifest.get("splits") or {}).values())
    licenses = [k for k in (manifest.get("licenses") or {}) if k]
    hub = [str(s["location"]) for s in manifest.get("sources") or []
           if isinstance(s, dict) and s.get("kind") == "hf-hub"]
    tags = ["codebabel"]
    try:
        lang = get_language(str(manifest.get("language", "")))
        tags.append(language_tag(lang.display_name))
        name = lang.display_name
    except CodebabelError:
        name = str(manifest.get("display_name") or manifest.get("language") or folder.name)
    data_files = [{"split": s, "path": f"{s}/*.jsonl"} for s in SPLITS
                  if (manifest.get("splits") or {}).get(s, {}).get("files") and any((folder / s).glob("*.jsonl"))]
    return {"pretty_name": f"{name} code corpus ({folder.name})", "language": ["code"],
            **license_fields(licenses[0] if len(licenses) == 1 else None),
            "task_categories": ["text-generation"], "size_categories": [size_category(files)],
            "source_datasets": hub or None, "tags": tags,
            "configs": [{"config_name": "default", "data_files": data_files}] if data_files else None}


def refresh_corpus_card(folder: str | Path) -> Path:
    """Put the Hub front matter on a corpus folder's ``README.md`` (its text kept; a short one where there is
    none); one-line error when ``folder`` is not a built corpus."""
    folder = Path(folder)
    if not is_corpus(folder):
        raise CodebabelError(f"'{folder}': no manifest.json of `codebabel corpus build` there, so not a corpus")
    manifest = read_json(folder / MANIFEST, "manifest")
    default = (f"# {manifest.get('display_name', folder.name)} corpus\n\nBuilt by `codebabel corpus build`; "
               "`manifest.json` holds its sources, steps and splits.\n")
    return refresh_card(folder / CARD, "dataset", corpus_card_metadata(manifest, folder), default)
