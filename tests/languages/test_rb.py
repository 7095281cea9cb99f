"""Ruby: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """  numbers.combination(2).any? { |a, b| (a - b).abs < threshold }
end
""",
    "HumanEval/2": "  number % 1.0\nend\n",
    "HumanEval/4": """  mean = numbers.sum / numbers.length.to_f
  numbers.sum { |x| (x - mean).abs } / numbers.length
end
""",
    # tuple -> array
    "HumanEval/8": "  [numbers.sum, numbers.reduce(1, :*)]\nend\n",
    # optional return: nil for an empty array
    "HumanEval/12": "  strings.max_by.with_index { |s, i| [s.length, -i] }\nend\n",
    # list[any] argument
    "HumanEval/22": "  values.select { |x| x.is_a?(Integer) }\nend\n",
    "HumanEval/23": "  string.length\nend\n",
    "HumanEval/29": "  strings.select { |s| s.start_with?(prefix) }\nend\n",
    # a bundled gem (prime) loads although programs run with --disable-gems
    "HumanEval/31": "  require 'prime'\n  n.prime?\nend\n",
    "HumanEval/34": "  l.uniq.sort\nend\n",
    "HumanEval/53": "  x + y\nend\n",
    # the capitalised parameter N is n in Ruby
    "HumanEval/84": "  n.digits.sum.to_s(2)\nend\n",
    # dict -> hash
    "HumanEval/111": """  counts = test.split(" ").reject(&:empty?).tally
  most = counts.values.max
  counts.select { |_, v| v == most }
end
""",
    # tuple of optionals: [nil, 1]
    "HumanEval/136": """  neg = lst.select { |x| x < 0 }
  pos = lst.select { |x| x > 0 }
  [neg.max, pos.min]
end
""",
    # standard library without RubyGems (digest), nil for ""
    "HumanEval/162": """  require 'digest'
  text.empty? ? nil : Digest::MD5.hexdigest(text)
end
""",
}

WRONG = {
    "HumanEval/23": ("  string.length + 1\nend\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  x +\n", Status.SYNTAX_ERROR),  # the def is never closed
    "HumanEval/2": ("  number.nope\nend\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("  strings.select { |s| s.start_with?(prefix) \nend\n", Status.SYNTAX_ERROR),
    "HumanEval/34": ("  exit 0\nend\n", Status.RUNTIME_ERROR),  # early exit is not a pass
    "HumanEval/4": ("  1 + \"a\"\nend\n", Status.RUNTIME_ERROR),  # TypeError at run time
    "HumanEval/12": ("  strings.max_by(&:length) || \"\"\nend\n", Status.ASSERTION_FAILED),  # "" is not nil
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("rb", SOLUTIONS, WRONG)
