"""TypeScript: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions, problems_by_id

SOLUTIONS = {
    "HumanEval/0": """  for (let i = 0; i < numbers.length; i++)
    for (let j = i + 1; j < numbers.length; j++)
      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;
  return false;
}
""",
    "HumanEval/4": """  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  return numbers.reduce((a, x) => a + Math.abs(x - mean), 0) / numbers.length;
}
""",
    "HumanEval/8": """  let s = 0, p = 1;
  for (const x of numbers) { s += x; p *= x; }
  return [s, p];
}
""",
    "HumanEval/12": """  if (strings.length === 0) return undefined;
  return strings.reduce((best, s) => (s.length > best.length ? s : best));
}
""",
    "HumanEval/22": "  return values.filter((v) => typeof v === \"number\" && Number.isInteger(v));\n}\n",
    "HumanEval/23": "  return string.length;\n}\n",
    "HumanEval/34": "  return [...new Set(l)].sort((a, b) => a - b);\n}\n",
    "HumanEval/103": """  if (m < n) return -1;
  const half = Math.floor((n + m) / 2);  // Python rounds halves to even
  const avg = (n + m) % 2 === 0 || half % 2 === 0 ? half : half + 1;
  return "0b" + avg.toString(2);
}
""",
    "HumanEval/111": """  const counts: {[key: string]: number} = {};
  for (const w of test.split(" ")) if (w) counts[w] = (counts[w] || 0) + 1;
  const most = Math.max(0, ...Object.values(counts));
  const out: {[key: string]: number} = {};
  for (const [k, v] of Object.entries(counts)) if (v === most && most > 0) out[k] = v;
  return out;
}
""",
    "HumanEval/125": """  if (txt.includes(" ")) return txt.split(" ");
  if (txt.includes(",")) return txt.split(",");
  return [...txt].filter((c) => c >= "a" && c <= "z" && (c.charCodeAt(0) - 97) % 2 === 1).length;
}
""",
    "HumanEval/136": """  const neg = lst.filter((x) => x < 0), pos = lst.filter((x) => x > 0);
  return [neg.length ? Math.max(...neg) : undefined, pos.length ? Math.min(...pos) : undefined];
}
""",
    "HumanEval/137": """  const num = (v: number | string): number => typeof v === "string" ? parseFloat(v.replace(",", ".")) : v;
  if (num(a) === num(b)) return undefined;
  return num(a) > num(b) ? a : b;
}
""",
    "HumanEval/162": """  if (text === "") return undefined;
  return require("crypto").createHash("md5").update(text).digest("hex");
}
""",
}

WRONG = {
    "HumanEval/23": ("  return string.length + 1;\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  return x + ;\n}\n", Status.SYNTAX_ERROR),                      # TS1109
    "HumanEval/34": ("  return l.join(\",\");\n}\n", Status.TYPE_ERROR),               # TS2322
    "HumanEval/4": ("  return mean_of(numbers);\n}\n", Status.COMPILE_ERROR),          # TS2304
    "HumanEval/2": ("  throw new Error(\"nope\");\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("  while (true) {}\n}\n", Status.TIMEOUT),
    "HumanEval/0": ("  process.exit(0);\n  return true;\n}\n", Status.RUNTIME_ERROR),  # early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("ts", SOLUTIONS, WRONG)


def test_prompt_types_follow_multipl_e_and_unions_are_union_types():
    problems = problems_by_id("ts")
    header = {t: problems[t].prompt.rstrip("\n").splitlines()[-1] for t in problems}
    assert header["HumanEval/0"] == "function has_close_elements(numbers: number[], threshold: number): boolean {"
    assert header["HumanEval/12"] == "function longest(strings: string[]): string | undefined {"
    assert header["HumanEval/22"] == "function filter_integers(values: any[]): number[] {"
    assert header["HumanEval/111"] == "function histogram(test: string): {[key: string]: number} {"
    assert header["HumanEval/125"] == "function split_words(txt: string): string[] | number {"
    assert header["HumanEval/136"] == ("function largest_smallest_integers(lst: number[]): "
                                       "[number | undefined, number | undefined] {")
    assert "__codebabel_eq(check_dict_case({\"p\": \"pineapple\", 5: \"banana\"" in problems["HumanEval/95"].tests


def test_compile_diagnostics_are_classified_by_their_codes():
    ts = get_language("ts")

    def status(out: str) -> Status:
        return ts.classify_compile(ExecResult(returncode=2, stdout=out, stderr="", duration_s=0.1))

    assert status("main.ts(2,14): error TS1005: ';' expected.") is Status.SYNTAX_ERROR
    assert status("main.ts(2,3): error TS2322: Type 'string' is not assignable to type 'number'.") is Status.TYPE_ERROR
    assert status("main.ts(3,3): error TS7053: Element implicitly has an 'any' type") is Status.TYPE_ERROR
    assert status("main.ts(3,3): error TS18048: 'x' is possibly 'undefined'.") is Status.TYPE_ERROR
    assert status("main.ts(2,10): error TS2304: Cannot find name 'foo'.") is Status.COMPILE_ERROR
    assert status("error TS5023: Unknown compiler option '--nope'.") is Status.COMPILE_ERROR
