"""PHP: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from tests.langkit import check_solutions, problems_by_id

SOLUTIONS = {
    "HumanEval/0": """    for ($i = 0; $i < count($numbers); $i++) {
        for ($j = $i + 1; $j < count($numbers); $j++) {
            if (abs($numbers[$i] - $numbers[$j]) < $threshold) {
                return true;
            }
        }
    }
    return false;
}
""",
    "HumanEval/2": "    return $number - floor($number);\n}\n",
    "HumanEval/8": "    return array(array_sum($numbers), array_product($numbers));\n}\n",
    "HumanEval/12": """    $best = null;
    foreach ($strings as $s) {
        if ($best === null || strlen($s) > strlen($best)) {
            $best = $s;
        }
    }
    return $best;
}
""",
    "HumanEval/22": "    return array_filter($values, 'is_int');\n}\n",  # keeps the keys: compared by values
    "HumanEval/23": "    return strlen($string);\n}\n",  # the function itself is strlen_
    "HumanEval/29": """    return array_filter($strings, fn($s) => str_starts_with($s, $prefix));
}
""",
    "HumanEval/34": """    $u = array_unique($l);
    sort($u);
    return $u;
}
""",
    "HumanEval/53": "    return $x + $y;\n}\n",
    "HumanEval/111": """    $counts = array();
    foreach (explode(" ", $test) as $w) {
        if ($w !== "") {
            $counts[$w] = ($counts[$w] ?? 0) + 1;
        }
    }
    if (!$counts) {
        return array();
    }
    $most = max($counts);
    return array_filter($counts, fn($v) => $v === $most);
}
""",
    "HumanEval/136": """    $neg = array_filter($lst, fn($x) => $x < 0);
    $pos = array_filter($lst, fn($x) => $x > 0);
    return array($neg ? max($neg) : null, $pos ? min($pos) : null);
}
""",
    "HumanEval/137": """    $fa = is_string($a) ? floatval(str_replace(",", ".", $a)) : $a;
    $fb = is_string($b) ? floatval(str_replace(",", ".", $b)) : $b;
    if ($fa == $fb) {
        return null;
    }
    return $fa > $fb ? $a : $b;
}
""",
    "HumanEval/162": "    return $text === \"\" ? null : md5($text);\n}\n",
}

WRONG = {
    "HumanEval/53": ("    return $x - $y;\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/23": ("    return strlen($string) +;\n}\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("    return nope($number);\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("    while (true) {}\n}\n", Status.TIMEOUT),
    "HumanEval/34": ("    return $l;\n}\nfunction sort_unique($l) {\n    return $l;\n}\n"
                     "function sort_unique($l) {\n    return $l;\n}\n", Status.COMPILE_ERROR),  # redeclared
    "HumanEval/0": ("    exit(0);\n}\n", Status.RUNTIME_ERROR),  # early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("php", SOLUTIONS, WRONG)


def test_prompt_is_multipl_e_layout_and_builtin_names_are_not_redeclared():
    problems = problems_by_id("php")
    prompt = problems["HumanEval/0"].prompt
    assert prompt.startswith("<?php\n// Check if in given array of numbers")
    assert prompt.endswith("\nfunction has_close_elements($numbers, $threshold) {\n")
    assert "// >>> has_close_elements(array(1.0, 2.0, 3.0), 0.5)\n// false\n" in prompt
    assert problems["HumanEval/23"].entry_point == "strlen_"  # PHP's own strlen() cannot be redeclared
    assert problems["HumanEval/88"].prompt.endswith("\nfunction sort_array($array) {\n")  # a $-name may be a keyword
    assert 'check_dict_case(array("p" => "pineapple", 5 => "banana"' in problems["HumanEval/95"].tests
