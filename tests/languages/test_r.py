"""R: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.benchmarks import load_benchmark
from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import INT, list_of
from tests.langkit import check_solutions

SOLUTIONS = {
    # list of floats -> bool
    "HumanEval/0": """  n <- length(numbers)
  for (i in seq_len(n)) for (j in seq_len(n)) {
    if (i != j && abs(numbers[i] - numbers[j]) < threshold) return(TRUE)
  }
  FALSE
}
""",
    # float -> float
    "HumanEval/2": "  number %% 1\n}\n",
    # tuple (sum, product) as an atomic vector; empty input is c() (NULL)
    "HumanEval/8": "  c(sum(numbers), prod(numbers))\n}\n",
    # optional string: NULL for an empty input
    "HumanEval/12": """  if (length(strings) == 0) return(NULL)
  strings[[which.max(nchar(strings))]]
}
""",
    # list of strings; sapply adds names, which the comparison ignores
    "HumanEval/14": "  if (nchar(string) == 0) return(c())\n  sapply(seq_len(nchar(string)), function(i) substr(string, 1, i))\n}\n",
    # list[any]: a list() of mixed values, filtered into numbers (a list result equals the expected vector)
    "HumanEval/22": "  Filter(function(v) is.numeric(v) && length(v) == 1 && v == round(v), values)\n}\n",
    "HumanEval/23": "  nchar(string)\n}\n",
    # `unique` is renamed unique_ so that base::unique stays callable
    "HumanEval/34": "  sort(unique(l))\n}\n",
    # `median` is renamed median_ so that stats::median stays callable
    "HumanEval/47": "  median(l)\n}\n",
    "HumanEval/53": "  x + y\n}\n",
    # list of (row, col) tuples: a list of length-2 vectors
    "HumanEval/87": """  out <- list()
  for (i in seq_along(lst)) {
    row <- lst[[i]]
    for (j in rev(seq_along(row))) if (row[j] == x) out[[length(out) + 1]] <- c(i - 1, j - 1)
  }
  out
}
""",
    # dict[str, int] as a named list (order does not matter)
    "HumanEval/111": """  words <- strsplit(test, " ")[[1]]
  words <- words[words != ""]
  if (length(words) == 0) return(list())
  counts <- table(words)
  best <- counts[counts == max(counts)]
  as.list(setNames(as.integer(best), names(best)))
}
""",
    # tuple (str, bool) as a list
    "HumanEval/112": """  chars <- strsplit(s, "")[[1]]
  kept <- paste(chars[!(chars %in% strsplit(c, "")[[1]])], collapse = "")
  list(kept, kept == paste(rev(strsplit(kept, "")[[1]]), collapse = ""))
}
""",
    # tuple of optionals: list(NULL, 1)
    "HumanEval/136": """  neg <- lst[lst < 0]
  pos <- lst[lst > 0]
  list(if (length(neg)) max(neg) else NULL, if (length(pos)) min(pos) else NULL)
}
""",
}

WRONG = {
    "HumanEval/23": ("  nchar(string) + 1\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  x + \n}\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("  number + \"a\"\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("  repeat {}\n}\n", Status.TIMEOUT),
    # an early exit never reaches the end of the tests
    "HumanEval/34": ("  quit(save = \"no\", status = 0)\n}\n", Status.RUNTIME_ERROR),
    # a bool where a number is expected, and NA where NULL is expected, are wrong answers
    "HumanEval/13": ("  TRUE\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/12": ("  if (length(strings) == 0) return(NA)\n  strings[[which.max(nchar(strings))]]\n}\n",
                     Status.ASSERTION_FAILED),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("r", SOLUTIONS, WRONG)


def test_literals_follow_multipl_e():
    r = get_language("r")
    t = list_of(INT)
    assert r.literal([1, 2, 3], t) == "c(1, 2, 3)"
    assert r.literal([], t) == "c()"
    assert r.literal([1, 2.5], t) == "c(1, 2.5)"
    assert r.literal([[1], []], t) == "list(c(1), c())"
    assert r.literal((None, 1), t) == "list(NULL, 1)"
    assert r.literal(("a", False), t) == 'list("a", FALSE)'
    assert r.literal({"a": 1, "b c": 2}, t) == 'list("a" = 1, "b c" = 2)'
    assert r.literal('say "hi"\\\n', t) == r'"say \"hi\"\\\n"'


def test_prompt_is_a_comment_then_the_header():
    p = {q.task_id: q for q in load_benchmark("humaneval", "r")}["HumanEval/0"]
    assert p.prompt.endswith("has_close_elements <- function(numbers, threshold) {\n")
    assert "# >>> has_close_elements(c(1.0, 2.0, 3.0), 0.5)\n# FALSE\n" in p.prompt
