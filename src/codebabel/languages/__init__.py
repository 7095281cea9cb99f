"""The language registry: resolve ``py``, ``python``, ``.py`` alike to one :class:`Language`."""

from __future__ import annotations

from functools import cache

from codebabel.errors import CodebabelError
from codebabel.languages.base import Language, RunSpec
from codebabel.languages.python import Python

__all__ = ["Language", "RunSpec", "all_languages", "get_language"]

_CLASSES: tuple[type[Language], ...] = (Python,)


@cache
def all_languages() -> tuple[Language, ...]:
    return tuple(cls() for cls in _CLASSES)


@cache
def _index() -> dict[str, Language]:
    idx: dict[str, Language] = {}
    for lang in all_languages():
        for key in (lang.name, *lang.aliases, *lang.extensions, *(e.lstrip(".") for e in lang.extensions)):
            idx[key.lower()] = lang
    return idx


def get_language(name: str) -> Language:
    lang = _index().get(name.strip().lower())
    if lang is None:
        known = ", ".join(sorted(lg.name for lg in all_languages()))
        raise CodebabelError(f"unknown language '{name}': known languages are {known}")
    return lang
