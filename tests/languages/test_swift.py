"""Swift: the translation reads as MultiPL-E's Swift (checked everywhere), and, where a Swift toolchain is
installed (swift.org; no Debian package), hand-written solutions pass and wrong ones fail with their status.

Completions stop before the function's closing brace (stop token "\\n}"); the harness supplies it.
"""

import pytest

from codebabel.benchmarks import load_benchmark_with_skips
from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """    for i in 0..<numbers.count {
        for j in (i + 1)..<numbers.count {
            if abs(numbers[i] - numbers[j]) < threshold {
                return true
            }
        }
    }
    return false
""",
    "HumanEval/2": "    return number.truncatingRemainder(dividingBy: 1.0)\n",
    "HumanEval/8": "    return (numbers.reduce(0, +), numbers.reduce(1, *))\n",
    "HumanEval/12": """    var best: String? = nil
    for s in strings {
        if best == nil || s.count > best!.count {
            best = s
        }
    }
    return best
""",
    "HumanEval/20": """    let s = numbers.sorted()
    var best = (s[0], s[1])
    for i in 1..<s.count {
        if s[i] - s[i - 1] < best.1 - best.0 {
            best = (s[i - 1], s[i])
        }
    }
    return best
""",
    "HumanEval/22": "    return values.compactMap { $0.base as? Int }\n",
    "HumanEval/23": "    return string.count\n",
    "HumanEval/34": "    return Array(Set(l)).sorted()\n",
    "HumanEval/53": "    return x + y\n",
    "HumanEval/87": """    var out: [(Int, Int)] = []
    for (i, row) in lst.enumerated() {
        for j in stride(from: row.count - 1, through: 0, by: -1) where row[j] == x {
            out.append((i, j))
        }
    }
    return out
""",
    "HumanEval/95": """    if dict.isEmpty {
        return false
    }
    var keys: [String] = []
    for key in dict.keys {
        guard let s = key.base as? String else {
            return false
        }
        keys.append(s)
    }
    let lower = keys.allSatisfy { s in s.contains(where: { c in c.isLetter }) && s == s.lowercased() }
    let upper = keys.allSatisfy { s in s.contains(where: { c in c.isLetter }) && s == s.uppercased() }
    return lower || upper
""",
    "HumanEval/103": """    if m < n {
        return .intValue(-1)
    }
    let half = (n + m) / 2
    let avg = (n + m) % 2 == 0 || half % 2 == 0 ? half : half + 1
    return .stringValue("0b" + String(avg, radix: 2))
""",
    "HumanEval/111": """    var counts: [String : Int] = [:]
    for word in test.split(separator: " ") {
        counts[String(word), default: 0] += 1
    }
    let most = counts.values.max() ?? 0
    return counts.filter { entry in entry.value == most }
""",
    "HumanEval/112": """    let kept = String(s.filter { ch in !c.contains(ch) })
    return (kept, kept == String(kept.reversed()))
""",
    "HumanEval/125": """    if txt.contains(" ") {
        return .stringArrayValue(txt.split(separator: " ").map { part in String(part) })
    }
    if txt.contains(",") {
        return .stringArrayValue(txt.split(separator: ",").map { part in String(part) })
    }
    return .intValue(txt.filter { ch in ch.isLowercase && (ch.asciiValue ?? 1) % 2 == 0 }.count)
""",
    "HumanEval/136": """    let neg = lst.filter { x in x < 0 }
    let pos = lst.filter { x in x > 0 }
    return (neg.max(), pos.min())
""",
    "HumanEval/137": """    func number(_ v: Value) -> Double {
        switch v {
        case .intValue(let x):
            return Double(x)
        case .doubleValue(let x):
            return x
        case .stringValue(let s):
            return Double(s.replacingOccurrences(of: ",", with: ".")) ?? 0
        }
    }
    if number(a) == number(b) {
        return nil
    }
    return number(a) > number(b) ? a : b
""",
}

WRONG = {
    "HumanEval/53": ("    return x - y\n", Status.ASSERTION_FAILED),
    "HumanEval/23": ("    return string.count +\n", Status.SYNTAX_ERROR),    # expected expression after operator
    "HumanEval/2": ("    return \"\\(number)\"\n", Status.TYPE_ERROR),        # cannot convert return expression
    "HumanEval/4": ("    return nope(numbers)\n", Status.COMPILE_ERROR),      # cannot find 'nope' in scope
    "HumanEval/12": ("    return strings[100]\n", Status.RUNTIME_ERROR),      # Fatal error: Index out of range
    "HumanEval/29": ("    while true {}\n    return []\n", Status.TIMEOUT),
    "HumanEval/0": ("    exit(0)\n", Status.RUNTIME_ERROR),                  # early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("swift", SOLUTIONS, WRONG)


@pytest.fixture(scope="module")
def problems():
    ps, skipped = load_benchmark_with_skips("humaneval", "swift")
    assert len(ps) == 161, [f"{s.task_id}: {s.reason}" for s in skipped]
    return {p.task_id: p for p in ps}


def header(problem) -> str:
    return problem.prompt.rstrip("\n").splitlines()[-1]


def test_prompt_is_multipl_e_swift_with_labelled_doc_examples(problems):
    p = problems["HumanEval/0"]
    assert p.prompt.startswith("import Foundation\n\n/// Check if in given array of numbers")
    assert "/// >>> has_close_elements(numbers: [1.0, 2.0, 3.0], threshold: 0.5)\n/// false\n" in p.prompt
    assert header(p) == "func has_close_elements(numbers: [Double], threshold: Double) -> Bool {"
    assert header(problems["HumanEval/12"]) == "func longest(strings: [String]) -> String? {"
    assert header(problems["HumanEval/87"]) == "func get_row(lst: [[Int]], x: Int) -> [(Int, Int)] {"
    assert header(problems["HumanEval/111"]) == "func histogram(test: String) -> [String : Int] {"
    assert header(problems["HumanEval/136"]) == "func largest_smallest_integers(lst: [Int]) -> (Int?, Int?) {"
    assert header(problems["HumanEval/160"]) == "func do_algebra(operator_: [String], operand: [Int]) -> Int {"
    assert get_language("swift").stop_tokens == ("\n}",)
    assert p.stub == "    return false\n"
    assert p.tests.startswith("}\n")  # the stop token cut the function's closing brace


def test_literals_are_swift_and_calls_carry_labels(problems):
    t = problems["HumanEval/0"].tests
    assert "has_close_elements(numbers: [1.0, 2.0, 3.9, 4.0, 5.0, 2.2], threshold: 0.3), true)" in t
    assert "largest_smallest_integers(lst: []), (nil, nil))" in problems["HumanEval/136"].tests
    assert 'reverse_delete(s: "abcde", c: "ae"), ("bcd", false))' in problems["HumanEval/112"].tests
    assert 'histogram(test: "a b b a"), ["a": 2, "b": 2])' in problems["HumanEval/111"].tests
    assert "histogram(test: \"\"), [:])" in problems["HumanEval/111"].tests
    assert "intersection(interval1: (1, 2), interval2: (2, 3)), \"NO\")" in problems["HumanEval/127"].tests


def test_any_and_unions(problems):
    # Any is AnyHashable; containers inside it say their type
    p22 = problems["HumanEval/22"]
    assert header(p22) == "func filter_integers(values: [AnyHashable]) -> [Int] {"
    assert ('filter_integers(values: [4, [:] as [AnyHashable : AnyHashable], [] as [AnyHashable], 23.2, 9, "adasd"])'
            in p22.tests)
    # a union as a dictionary key is AnyHashable too
    p95 = problems["HumanEval/95"]
    assert header(p95) == "func check_dict_case(dict: [AnyHashable : String]) -> Bool {"
    assert 'check_dict_case(dict: ["p": "pineapple", 5: "banana", "a": "apple"])' in p95.tests
    # unions are one enum per signature, declared before the function
    p137 = problems["HumanEval/137"]
    assert ("enum Value: Equatable, Hashable {\n    case intValue(Int)\n    case doubleValue(Double)\n"
            "    case stringValue(String)\n}\n") in p137.prompt
    assert header(p137) == "func compare_one(a: Value, b: Value) -> Value? {"
    assert "compare_one(a: .intValue(1), b: .stringValue(\"2,3\")), .stringValue(\"2,3\"))" in p137.tests
    assert "compare_one(a: .stringValue(\"1\"), b: .intValue(1)), nil)" in p137.tests
    p103 = problems["HumanEval/103"]
    assert header(p103) == "func rounded_avg(n: Int, m: Int) -> Value {"
    assert "rounded_avg(n: 1, m: 5), .stringValue(\"0b11\"))" in p103.tests
    assert "rounded_avg(n: 7, m: 5), .intValue(-1))" in p103.tests
    p125 = problems["HumanEval/125"]
    assert "case stringArrayValue([String])" in p125.prompt
    assert header(p125) == "func split_words(txt: String) -> Value {"


def test_every_program_is_balanced(problems):
    """No compiler here, so at least: brackets balance outside comments and string literals in every stub
    program."""
    pairs = {")": "(", "]": "[", "}": "{"}
    for task_id, p in problems.items():
        code = "\n".join(ln for ln in p.program(p.stub).splitlines() if not ln.lstrip().startswith("//"))
        stack, in_str, escaped = [], False, False
        for ch in code:
            if in_str:
                in_str, escaped = (ch != '"' or escaped), (ch == "\\" and not escaped)
            elif ch == '"':
                in_str = True
            elif ch in "([{":
                stack.append(ch)
            elif ch in pairs:
                assert stack and stack.pop() == pairs[ch], task_id
        assert not stack and not in_str, task_id


def test_every_program_parses_where_tree_sitter_swift_is_installed(problems):
    ts = pytest.importorskip("tree_sitter")
    swift = pytest.importorskip("tree_sitter_swift")
    parser = ts.Parser(ts.Language(swift.language()))
    bad = [t for t, p in problems.items() if parser.parse(p.program(p.stub).encode()).root_node.has_error]
    assert not bad


def test_traps_are_runtime_errors_and_diagnostics_are_classified():
    swift = get_language("swift")
    trap = ExecResult(returncode=-4, stdout="", stderr="Fatal error: Index out of range", duration_s=0.1)
    assert swift.classify(trap) is Status.RUNTIME_ERROR

    def status(out: str) -> Status:
        return swift.classify_compile(ExecResult(returncode=1, stdout="", stderr=out, duration_s=1.0))

    assert status("main.swift:3:24: error: expected expression after operator") is Status.SYNTAX_ERROR
    assert status("main.swift:3:12: error: cannot convert return expression of type 'String' to return type "
                  "'Int'") is Status.TYPE_ERROR
    assert status("main.swift:3:12: error: cannot find 'nope' in scope") is Status.COMPILE_ERROR
