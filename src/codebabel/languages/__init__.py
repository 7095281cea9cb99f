"""The language registry: resolve ``rb``, ``ruby``, ``.rb`` alike to one :class:`Language`.

Every module in this package that defines a :class:`Language` subclass with a ``name`` is a language;
adding a language is adding one file (docs/adding-a-language.md).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from codebabel.errors import CodebabelError
from codebabel.languages.base import Language, RunSpec

__all__ = ["Language", "RunSpec", "all_languages", "get_language", "languages_of"]

_NOT_LANGUAGES = {"base", "types"}


@cache
def all_languages() -> tuple[Language, ...]:
    """One instance per language: Python (the benchmarks' source language) first, then by name."""
    found: list[Language] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_LANGUAGES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, Language) and cls.__module__ == module.__name__
                    and not inspect.isabstract(cls) and getattr(cls, "name", None)):
                found.append(cls())
    return tuple(sorted(found, key=lambda lang: (lang.name != "py", lang.name)))


@cache
def _index() -> dict[str, Language]:
    idx: dict[str, Language] = {}
    for lang in all_languages():
        for key in (lang.name, *lang.aliases, *lang.extensions, *(e.lstrip(".") for e in lang.extensions)):
            key = key.lower()
            if key in idx and idx[key] is not lang:
                raise CodebabelError(f"language name '{key}' is claimed by both {idx[key].name} and {lang.name}")
            idx[key] = lang
    return idx


def get_language(name: str) -> Language:
    lang = _index().get(name.strip().lower())
    if lang is None:
        known = ", ".join(sorted(lg.name for lg in all_languages()))
        raise CodebabelError(f"unknown language '{name}': known languages are {known} (or 'all')")
    return lang


def languages_of(spec: str) -> list[Language]:
    """``all``, one name, or a comma-separated list of names/aliases/extensions (duplicates once)."""
    if spec.strip().lower() == "all":
        return list(all_languages())
    langs: list[Language] = []
    for part in spec.split(","):
        if part.strip():
            lang = get_language(part)
            if lang not in langs:
                langs.append(lang)
    if not langs:
        raise CodebabelError(f"--language {spec!r}: name at least one language, or 'all'")
    return langs
