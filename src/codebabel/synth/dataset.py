"""Stage 5, ``dataset``: the verified translations as training files, translation pairs, and a dataset card.

``RUN/dataset/`` (rewritten from the stages' logs at the end of every run, each file atomically):

- ``<lang>-train.jsonl``, ``<lang>-validation.jsonl``, ``<lang>-test.jsonl`` — what ``codebabel train`` reads
  (``data: ["RUN/dataset/lua-{split}.jsonl"]``): ``{"text": prompt + translation}`` (the prompt without the Python
  body: the doc comment and header), or ``{"prompt", "completion"}`` with ``dataset.format: prompt_completion``;
  each row also carries its provenance (the source document and line, the function's id and tests, the teacher,
  the sample, the stages' settings hashes). Split by the function's id (data/splits.py), so every translation of
  one function is in one split;
- ``<lang>-chat-{train,validation,test}.jsonl`` (with ``dataset.chat``, the default) — the same rows as
  conversations, ``{"messages": [user, assistant]}``: the user message that ``--prompt-format instruct`` asks
  with (generate/instruct.py, the prompt without the Python body) and the whole translated function as the
  assistant's fenced reply; for fine-tuning an instruct model that is evaluated in that format;
- ``pairs/<lang>.jsonl`` — the same translations as translation pairs (data/pairs/format.py:
  ``{"id", "split", "name", "<lang>": translation, "py": the original function, "tests"}``) for the translation
  experts; ``tests`` are the function's Python assertions from stage 2 (:func:`python_tests`), so that
  ``evaluate translation`` judges a translated function by running them (a function prints nothing to compare);
- ``prompts/<lang>-{train,validation,test}.jsonl`` — benchmark-style routing samples: every function the
  benchmark translator rendered in ``lang`` (stage 3, whether or not a translation passed), its prompt alone (doc
  comment and header, no body, as a HumanEval prompt in that language looks) tagged ``<lang> PROMPT <py>``, the
  Python function as the completion; for a routing gate (``gate.data``), so that it routes headers as well as
  whole functions. Split by function as above;
- ``README.md`` (the card: how it was made, the yield funnel with every stage's kept and dropped counts and
  reasons, time per stage; Hub front matter: licence where the sources' corpora agree on one, ``language: code``,
  ``task_categories``, ``size_categories``, tags, one ``configs`` entry per language and row format so the Hub's
  viewer reads each file set apart) and ``funnel.json`` (the same numbers). :func:`refresh_card` rewrites the
  front matter of an existing dataset folder from its ``funnel.json`` alone, keeping the card's text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from codebabel.cards import CARD, language_tag, license_fields, size_category, write_card
from codebabel.cards import refresh_card as refresh_card_file
from codebabel.data.pairs.format import SPLIT_NAMES, Pair, source_prompt, write_pairs
from codebabel.data.splits import split_of
from codebabel.errors import CodebabelError
from codebabel.generate.instruct import instruct_messages
from codebabel.inputs import read_json
from codebabel.languages import get_language
from codebabel.store import atomic_write_text
from codebabel.synth.recipe import SynthRecipe

SPLITS = ("train", "validation", "test")


def training_text(train_prompt: str, completion: str) -> str:
    text = train_prompt + completion
    return text if text.endswith("\n") else text + "\n"


def python_tests(asserts: list[str], py_name: str, source_name: str) -> str:
    """The stage-2 assertions of a function, as Python run after a translation of it from another language. The
    translation may keep the source's name (Java's ``isPrime`` for ``is_prime``), the Python one, or put the
    function in a class as a static method (Java, C#): the first of those found is bound to the Python name the
    assertions call; none found is an assertion error that names them."""
    names = list(dict.fromkeys([py_name, source_name, _snake(source_name)]))
    return "\n".join([
        "# codebabel synth: the function's tests (Python, stage 2), run after its translation",
        f"_names = {tuple(names)!r}",
        "_found = [globals()[n] for n in _names if callable(globals().get(n))] + [",
        "    getattr(c, n) for c in list(globals().values()) if isinstance(c, type) for n in _names",
        "    if callable(getattr(c, n, None))]",
        "assert _found, 'the translation defines no function named ' + ' or '.join(_names)",
        f"{py_name} = _found[0]",
        *asserts, ""])


#: languages whose blocks are braces with C-style comments and strings: their pairs get the braces the stop
#: sequence cut (MultiPL-E stops C++ at ``\n}``, Java and C# at ``\n    }\n``; the harness closes them). Not
#: Rust: its lifetimes (``'a``) would read as the start of a character literal
BRACE_LANGUAGES = frozenset({"cpp", "java", "cs", "js", "php", "go", "scala", "swift"})
_LEXEME = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`(?:\\.|[^`\\])*`|[{}]', re.S)


def closed(lang: str, code: str) -> str:
    """``code`` with the braces left open closed, one per line at the indentation of its depth (a translated
    function as a reader expects it: the stop sequence cut its last ``}``); other languages unchanged."""
    if lang not in BRACE_LANGUAGES:
        return code
    depth = 0
    for m in _LEXEME.finditer(code):
        depth += {"{": 1, "}": -1}.get(m.group(), 0)
    if depth <= 0:
        return code
    return code.rstrip("\n") + "\n" + "".join("    " * d + "}\n" for d in reversed(range(depth)))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def write_dataset(r: SynthRecipe, functions: dict, tests: dict, tests_hash: str, per_language: dict[str, dict],
                  teacher: dict, provenance: dict, py_tests: dict[str, list[str]] | None = None) -> dict:
    """Write ``RUN/dataset/``; ``per_language[lang]`` = {"translate": TranslateResult, "solutions": SolutionsResult};
    ``py_tests``: each function's Python assertions (stage 2), by id, for the pairs. Returns the funnel (also
    ``funnel.json``)."""
    py_tests = py_tests or {}
    out = r.run_dir / "dataset"
    out.mkdir(parents=True, exist_ok=True)
    d = r.dataset
    rows_per_lang: dict[str, dict[str, int]] = {}
    for lang, res in per_language.items():
        tr, so = res["translate"], res["solutions"]
        by_id = {f["id"]: f for f in tr.kept}
        rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
        chats: dict[str, list[dict]] = {s: [] for s in SPLITS}
        language = get_language(lang)
        pairs: list[Pair] = []
        for k in so.kept:
            f = by_id[k["function"]]
            split = split_of(f["id"], d.validation, d.test, salt="codebabel-synth")
            rid = f"{lang}/{f['id']}/{k['sample']}"
            code = training_text(f["train_prompt"], k["completion"])  # the whole translated function
            body = ({"text": code} if d.format == "text"
                    else {"prompt": f["train_prompt"], "completion": k["completion"]})
            meta = {"id": rid, "language": lang, "split": split, "function": f["id"], "name": f["name"],
                    "sample": k["sample"], "origin": f.get("origin"), "tests": len(f["cases"]),
                    "coverage": f["coverage"], "teacher": teacher,
                    "stages": {"tests": tests_hash, "translate": tr.stage.hash, "solutions": so.stage.hash}}
            rows[split].append({**body, **meta})
            chats[split].append({"messages": instruct_messages(language, f["train_prompt"], code), **meta})
            pair_meta = {"id": f"synth/{rid}", "split": SPLIT_NAMES[split], "name": f["name"]}
            if f["id"] in py_tests:
                pair_meta["tests"] = python_tests(py_tests[f["id"]], f["name"], f.get("entry_point") or f["name"])
            pairs.append(Pair({lang: closed(lang, code), "py": f["source"]}, pair_meta))
        for split in SPLITS:
            atomic_write_text(out / f"{lang}-{split}.jsonl",
                              "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows[split]))
            if d.chat:
                atomic_write_text(out / f"{lang}-chat-{split}.jsonl",
                                  "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in chats[split]))
        write_pairs(out / "pairs" / f"{lang}.jsonl", pairs)
        prompts: dict[str, list[dict]] = {s: [] for s in SPLITS}
        for f in tr.kept:  # every function the benchmark translator rendered, whether or not a solution passed
            split = split_of(f["id"], d.validation, d.test, salt="codebabel-synth")
            prompts[split].append({"prompt": source_prompt(f["train_prompt"], lang), "completion": f" {f['source']}",
                                   "id": f"synth/{lang}/{f['id']}", "function": f["id"]})
        for split in SPLITS:
            atomic_write_text(out / "prompts" / f"{lang}-{split}.jsonl",
                              "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in prompts[split]))
        rows_per_lang[lang] = {s: len(rows[s]) for s in SPLITS}
    funnel = {"run": str(r.run_dir), "functions": functions, "tests": tests,
              "languages": {lang: {"translate": res["translate"].summary, "solutions": res["solutions"].summary,
                                   "rows": rows_per_lang[lang]} for lang, res in per_language.items()},
              "teacher": teacher, "provenance": provenance, "sources": [str(x) for x in r.sources],
              "chat": bool(d.chat)}
    atomic_write_text(out / "funnel.json", json.dumps(funnel, indent=2) + "\n")
    write_card(out / CARD, "dataset", card_metadata(funnel, out), card(r, funnel), keep=False)
    return funnel


def refresh_card(folder: str | Path) -> Path:
    """Rewrite the front matter of a synth dataset folder's card from its ``funnel.json`` (the card's text kept):
    no stage runs, nothing is generated."""
    folder = Path(folder)
    if not (folder / "funnel.json").is_file():
        raise CodebabelError(f"'{folder}': no funnel.json there, so not a `codebabel synth` dataset folder")
    funnel = read_json(folder / "funnel.json", "funnel")
    return refresh_card_file(folder / CARD, "dataset", card_metadata(funnel, folder))


def card_metadata(funnel: dict, folder: Path) -> dict:
    """The card's Hub front matter from the funnel and the files in ``folder``."""
    langs = list(funnel["languages"])
    rows = sum(n for lang in langs for n in funnel["languages"][lang]["rows"].values())
    configs = []
    for lang in langs:
        counts = funnel["languages"][lang]["rows"]
        for name, stem in ((lang, lang), (f"{lang}-chat", f"{lang}-chat")):
            files = [{"split": s, "path": f"{stem}-{s}.jsonl"} for s in SPLITS
                     if counts.get(s) and (folder / f"{stem}-{s}.jsonl").is_file()]
            if files:
                configs.append({"config_name": name, "data_files": files})
    return {"pretty_name": f"codebabel synth: {Path(str(funnel.get('run', folder))).name}",
            "language": ["code"], "task_categories": ["text-generation"], "size_categories": [size_category(rows)],
            "tags": ["codebabel", "synthetic", "multipl-t",
                     *(language_tag(get_language(lang).display_name) for lang in langs)],
            **license_fields(_sources_license(funnel.get("sources") or [])), "configs": configs or None}


def _sources_license(sources: list[str]) -> str | None:
    """The one licence of every file of the sources where each is a corpus folder whose manifest counts them
    (``codebabel corpus build``); ``None`` where they disagree, a file's is unknown, or a source is no corpus."""
    found: set[str] = set()
    for src in sources:
        manifest = Path(src) / "manifest.json"
        try:
            licenses = json.loads(manifest.read_text(encoding="utf-8")).get("licenses") or {}
        except (OSError, ValueError):
            return None
        found.update(licenses)
    return found.pop() if len(found) == 1 else None


def _reasons(dropped: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in dropped.items()) or "-"


def card(r: SynthRecipe, funnel: dict) -> str:
    """The dataset card: what it is, how it was made, the funnel."""
    f, t = funnel["functions"], funnel["tests"]
    teacher = funnel["teacher"]
    langs = list(funnel["languages"])
    lines = [
        f"# Synthetic {', '.join(langs)} training data: {r.name}",
        "",
        "Made by `codebabel synth` (MultiPL-T's method): Python functions with docstrings from the sources, unit "
        "tests written by a teacher model and kept where they pass in the sandbox with enough line coverage, the "
        "tests translated into each language by codebabel's benchmark translator, the functions translated by the "
        "teacher and kept only where the translation passes the translated tests in the sandbox, near duplicates "
        "removed. Every row here has run and passed.",
        "",
        f"- sources: {', '.join(f'`{s}`' for s in r.sources)} (the rows derive from them: their licenses apply)",
        f"- teacher: `{json.dumps(teacher, sort_keys=True)}`",
        f"- tests: {r.tests.samples} samples at T={r.tests.temperature}, top_p {r.tests.top_p}; coverage >= "
        f"{r.tests.min_coverage:g} %",
        f"- translations: {r.solutions.samples} samples at T={r.solutions.temperature}, top_p {r.solutions.top_p}; "
        f"near duplicates above ROUGE-L {r.solutions.rouge_threshold:g} removed",
        f"- splits by function id: validation {r.dataset.validation:g}, test {r.dataset.test:g}",
        f"- made: {funnel['provenance'].get('date')} by `{funnel['provenance'].get('command')}`",
        "",
        "## Files",
        "",
        *(f"- `{lang}-{{train,validation,test}}.jsonl` ({', '.join(f'{s} {n}' for s, n in funnel['languages'][lang]['rows'].items())} rows); "
          f"{f'`{lang}-chat-{{split}}.jsonl`; ' if r.dataset.chat else ''}`pairs/{lang}.jsonl`" for lang in langs),
        "",
        "Train on one with a `codebabel train` recipe: `data: [\"" + str(r.run_dir / "dataset") + "/LANG-{split}.jsonl\"]`"
        + (" (an instruct model evaluated with `--prompt-format instruct`: `LANG-chat-{split}.jsonl`, the same rows as "
           "conversations in that format)" if r.dataset.chat else "") + ".",
        "",
        "## Yield funnel",
        "",
        "| stage | in | kept | dropped, by reason | seconds |",
        "|---|---|---|---|---|",
        f"| 1 functions | {f['candidates']} functions in {f['documents']} documents ({f['duplicates']} duplicate copies, "
        f"{f['documents_unparseable']} documents not parsed) | {f['kept']} ({f['selected']} selected) | "
        f"{_reasons(f['dropped'])} | {f.get('seconds', '-')} |",
        f"| 2 tests | {t['functions']} functions, {t['samples']} samples, {t['asserts']} asserts "
        f"({t['asserts_passing']} pass) | {t['kept']} | {_reasons(t['dropped'])} | {t.get('seconds', '-')} |",
    ]
    for lang in langs:
        tr = funnel["languages"][lang]["translate"]
        so = funnel["languages"][lang]["solutions"]
        lines.append(f"| 3 translate tests: {lang} | {tr['functions']} | {tr['kept']} | "
                     f"{_reasons(tr['dropped_detail'])} | {tr.get('seconds', '-')} |")
        lines.append(f"| 4 translations: {lang} | {so['functions']} functions, {so['samples']} samples | "
                     f"{so['kept']} translations of {so['functions_with_kept']} functions | failed tests "
                     f"{so['samples'] - so['passed']} ({_reasons({k: v for k, v in so['status_counts'].items() if k != 'ok'})}), "
                     f"exact duplicates {so['exact_duplicates']}, near duplicates {so['near_duplicates']} | "
                     f"{so.get('seconds', '-')} |")
    lines += [
        "",
        "Seconds are those of the runs that finished each stage (a run stopped part-way is not counted). Teacher "
        "speed: tests " + _speed(t.get("generation")) + "; "
        + "; ".join(f"{lang} translations {_speed(funnel['languages'][lang]['solutions'].get('generation'))}"
                    for lang in langs) + ".",
        "",
        "## Row format",
        "",
        "`text` (or `prompt` + `completion`; in the chat files `messages`: the instruct user message and the "
        "fenced reply), then provenance: `id` (`lang/function/sample`), `language`, `split`, "
        "`function` (the Python function's id: its name and a hash of its text), `name`, `sample`, `origin` (source, "
        "document id, line), `tests` (the number of test cases), `coverage` (percent of the Python body's lines the "
        "tests ran), `teacher`, `stages` (the settings hashes of the stage folders it came from).",
        "",
    ]
    return "\n".join(lines)


def _speed(g: dict | None) -> str:
    if not g or not g.get("seconds"):
        return "-"
    return f"{g['tokens']} tokens in {g['seconds']:g} s ({g.get('tokens_per_s')} tokens/s)"

