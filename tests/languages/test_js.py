"""JavaScript: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """  for (let i = 0; i < numbers.length; i++)
    for (let j = i + 1; j < numbers.length; j++)
      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;
  return false;
}
""",
    "HumanEval/2": "  return number % 1.0;\n}\n",
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
    "HumanEval/23": "  return string.length;\n}\n",
    "HumanEval/29": "  return strings.filter((s) => s.startsWith(prefix));\n}\n",
    "HumanEval/34": "  return [...new Set(l)].sort((a, b) => a - b);\n}\n",
    "HumanEval/53": "  return x + y;\n}\n",
    "HumanEval/111": """  const counts = {};
  for (const w of test.split(" ")) if (w) counts[w] = (counts[w] || 0) + 1;
  const most = Math.max(0, ...Object.values(counts));
  const out = {};
  for (const [k, v] of Object.entries(counts)) if (v === most && most > 0) out[k] = v;
  return out;
}
""",
    "HumanEval/162": """  if (text === "") return undefined;
  return require("crypto").createHash("md5").update(text).digest("hex");
}
""",
}

WRONG = {
    "HumanEval/23": ("  return string.length + 1;\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  return x + ;\n}\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("  return number.nope();\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("  while (true) {}\n}\n", Status.TIMEOUT),
    "HumanEval/34": ("  process.exit(0);\n}\n", Status.RUNTIME_ERROR),  # early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("js", SOLUTIONS, WRONG)
