"""Rust: hand-written solutions pass the translated tests, wrong ones fail with the right status.

Completions stop before the function's closing brace (MultiPL-E's stop token "\\n}"): the harness adds it.
"""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """    for i in 0..numbers.len() {
        for j in i + 1..numbers.len() {
            if (numbers[i] - numbers[j]).abs() < threshold {
                return true;
            }
        }
    }
    false
""",
    "HumanEval/2": "    number.fract()\n",
    "HumanEval/4": """    let mean = numbers.iter().sum::<f64>() / numbers.len() as f64;
    numbers.iter().map(|x| (x - mean).abs()).sum::<f64>() / numbers.len() as f64
""",
    "HumanEval/8": "    (numbers.iter().sum(), numbers.iter().product())\n",
    "HumanEval/12": """    let mut best: Option<String> = None;
    for s in strings {
        if best.as_ref().map_or(true, |b| s.len() > b.len()) {
            best = Some(s);
        }
    }
    best
""",
    "HumanEval/22": """    values.iter().filter_map(|v| v.downcast_ref::<isize>().copied()).collect()
""",
    "HumanEval/23": "    string.len() as isize\n",
    "HumanEval/29": "    strings.into_iter().filter(|s| s.starts_with(&prefix)).collect()\n",
    "HumanEval/34": """    let mut v = l.clone();
    v.sort();
    v.dedup();
    v
""",
    "HumanEval/53": "    x + y\n",
    "HumanEval/95": """    if dict.is_empty() {
        return false;
    }
    let keys: Vec<&String> = dict.keys().filter_map(|k| match k {
        IntOrStr::Str(s) => Some(s),
        IntOrStr::Int(_) => None,
    }).collect();
    if keys.len() != dict.len() {
        return false;
    }
    keys.iter().all(|k| !k.chars().any(|c| c.is_uppercase()))
        || keys.iter().all(|k| !k.chars().any(|c| c.is_lowercase()))
""",
    "HumanEval/103": """    if n > m {
        return IntOrStr::Int(-1);
    }
    let sum = n + m;
    let mut avg = sum / 2;
    if sum % 2 == 1 && avg % 2 == 1 {
        avg += 1; // Python's round: halves go to the even neighbour
    }
    IntOrStr::Str(format!("0b{:b}", avg))
""",
    "HumanEval/111": """    let mut counts: HashMap<String, isize> = HashMap::new();
    for w in test.split_whitespace() {
        *counts.entry(w.to_string()).or_insert(0) += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    counts.into_iter().filter(|(_, v)| *v == most).collect()
""",
    "HumanEval/125": """    if txt.contains(' ') {
        return IntOrList::List(txt.split_whitespace().map(String::from).collect());
    }
    if txt.contains(',') {
        return IntOrList::List(txt.split(',').map(String::from).collect());
    }
    IntOrList::Int(txt.chars().filter(|c| c.is_ascii_lowercase() && (*c as u8 - b'a') % 2 == 1).count() as isize)
""",
    "HumanEval/136": """    let neg = lst.iter().filter(|x| **x < 0).max().copied();
    let pos = lst.iter().filter(|x| **x > 0).min().copied();
    (neg, pos)
""",
    "HumanEval/137": """    fn num(s: &str) -> f64 {
        s.replace(',', ".").parse().unwrap()
    }
    let x = match &a {
        IntOrStr::Int(i) => *i as f64,
        IntOrStr::Str(s) => num(s),
    };
    let y = match &b {
        IntOrFloatOrStr::Int(i) => *i as f64,
        IntOrFloatOrStr::Float(f) => *f,
        IntOrFloatOrStr::Str(s) => num(s),
    };
    if x == y {
        return None;
    }
    if x > y {
        return Some(match a {
            IntOrStr::Int(i) => FloatOrStr::Float(i as f64),
            IntOrStr::Str(s) => FloatOrStr::Str(s),
        });
    }
    Some(match b {
        IntOrFloatOrStr::Int(i) => FloatOrStr::Float(i as f64),
        IntOrFloatOrStr::Float(f) => FloatOrStr::Float(f),
        IntOrFloatOrStr::Str(s) => FloatOrStr::Str(s),
    })
""",
}

WRONG = {
    "HumanEval/23": ("    string.len() as isize + 1\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("    return x + ;\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("    return 1;\n", Status.TYPE_ERROR),  # error[E0308]: mismatched types
    "HumanEval/29": ("    no_such_function(strings)\n", Status.COMPILE_ERROR),  # error[E0425]
    "HumanEval/12": ("    let v = strings;\n    let w = strings;\n    None\n", Status.COMPILE_ERROR),  # moved
    "HumanEval/34": ("    vec![l[l.len()]]\n", Status.RUNTIME_ERROR),  # index out of bounds: a panic
    "HumanEval/0": ("    fn f(n: u64) -> u64 { if n == 0 { 0 } else { 1 + f(n - 1) } }\n"
                    "    f(1 << 40) == 0\n", Status.RUNTIME_ERROR),  # stack overflow: SIGABRT
    "HumanEval/8": ("    let v = vec![1u8; 1 << 40];\n    (v[0] as isize, 0)\n", Status.MEMORY_LIMIT),
    "HumanEval/4": ("    std::process::exit(0);\n", Status.RUNTIME_ERROR),  # an early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("rs", SOLUTIONS, WRONG)


def test_names_and_translation_details():
    from codebabel.benchmarks import load_benchmark

    rs = get_language("rust")
    assert rs is get_language(".rs") is get_language("RS")
    problems = {p.task_id: p for p in load_benchmark("humaneval", "rs")}
    # unions are enums declared in the prompt, members in a fixed order (int | str and str | int are one)
    p137 = problems["HumanEval/137"].prompt
    assert "enum IntOrStr {\n    Int(isize),\n    Str(String),\n}" in p137
    assert "fn compare_one(a: IntOrStr, b: IntOrFloatOrStr) -> Option<FloatOrStr> {\n" in p137
    assert "#[derive(Debug, Clone, PartialEq, Eq, Hash)]\nenum IntOrStr" in problems["HumanEval/95"].prompt
    assert problems["HumanEval/111"].prompt.startswith("use std::collections::HashMap;\n")
    assert "fn filter_integers(values: Vec<Box<dyn std::any::Any>>) -> Vec<isize> {" \
        in problems["HumanEval/22"].prompt
    assert problems["HumanEval/0"].tests.startswith("}\n")
