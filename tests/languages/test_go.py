"""Go: hand-written solutions pass the translated tests, wrong ones fail with the right status.

Completions end with the function's closing brace (the stop token is the next top-level "\\nfunc").
"""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import ANY, FLOAT, INT, STR, dict_of, list_of, optional, tuple_of
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """	for i := range numbers {
		for j := i + 1; j < len(numbers); j++ {
			if math.Abs(numbers[i]-numbers[j]) < threshold {
				return true
			}
		}
	}
	return false
}
""",
    "HumanEval/2": "\treturn math.Mod(number, 1.0)\n}\n",
    "HumanEval/4": """	mean := 0.0
	for _, x := range numbers {
		mean += x
	}
	mean /= float64(len(numbers))
	mad := 0.0
	for _, x := range numbers {
		mad += math.Abs(x - mean)
	}
	return mad / float64(len(numbers))
}
""",
    "HumanEval/8": """	s, p := 0, 1
	for _, x := range numbers {
		s += x
		p *= x
	}
	return []interface{}{s, p}
}
""",
    "HumanEval/12": """	if len(strings_) == 0 {
		return nil
	}
	best := strings_[0]
	for _, s := range strings_ {
		if len(s) > len(best) {
			best = s
		}
	}
	return &best
}
""",
    "HumanEval/20": """	s := append([]float64{}, numbers...)
	sort.Float64s(s)
	a, b := s[0], s[1]
	for i := 2; i < len(s); i++ {
		if s[i]-s[i-1] < b-a {
			a, b = s[i-1], s[i]
		}
	}
	return []interface{}{a, b}
}
""",
    "HumanEval/22": """	out := []int{}
	for _, v := range values {
		if i, ok := v.(int); ok {
			out = append(out, i)
		}
	}
	return out
}
""",
    "HumanEval/29": """	var out []string
	for _, s := range strings_ {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
""",
    "HumanEval/34": """	seen := map[int]bool{}
	out := []int{}
	for _, x := range l {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Ints(out)
	return out
}
""",
    "HumanEval/87": """	out := [][]interface{}{}
	for i, row := range lst {
		for j := len(row) - 1; j >= 0; j-- {
			if row[j] == x {
				out = append(out, []interface{}{i, j})
			}
		}
	}
	return out
}
""",
    "HumanEval/90": """	u := map[int]bool{}
	var xs []int
	for _, x := range lst {
		if !u[x] {
			u[x] = true
			xs = append(xs, x)
		}
	}
	if len(xs) < 2 {
		return nil
	}
	sort.Ints(xs)
	return &xs[1]
}
""",
    "HumanEval/95": """	if len(dict) == 0 {
		return false
	}
	lower, upper := true, true
	for k := range dict {
		s, ok := k.(string)
		if !ok {
			return false
		}
		if s != strings.ToLower(s) {
			lower = false
		}
		if s != strings.ToUpper(s) {
			upper = false
		}
	}
	return lower || upper
}
""",
    "HumanEval/103": """	if m < n {
		return -1
	}
	avg := int(math.RoundToEven(float64(n+m) / 2))
	return "0b" + strconv.FormatInt(int64(avg), 2)
}
""",
    "HumanEval/111": """	counts := map[string]int{}
	most := 0
	for _, w := range strings.Fields(test) {
		counts[w]++
		if counts[w] > most {
			most = counts[w]
		}
	}
	out := map[string]int{}
	for w, c := range counts {
		if c == most {
			out[w] = c
		}
	}
	return out
}
""",
    "HumanEval/125": """	if strings.Contains(txt, " ") {
		return strings.Fields(txt)
	}
	if strings.Contains(txt, ",") {
		return strings.Split(txt, ",")
	}
	n := 0
	for _, r := range txt {
		if unicode.IsLower(r) && (r-'a')%2 == 1 {
			n++
		}
	}
	return n
}
""",
    "HumanEval/127": """	lo, hi := interval1[0].(int), interval1[1].(int)
	if interval2[0].(int) > lo {
		lo = interval2[0].(int)
	}
	if interval2[1].(int) < hi {
		hi = interval2[1].(int)
	}
	n := hi - lo
	if n < 2 {
		return "NO"
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return "NO"
		}
	}
	return "YES"
}
""",
    "HumanEval/136": """	var neg, pos *int
	for i := range lst {
		x := lst[i]
		if x < 0 && (neg == nil || x > *neg) {
			neg = &lst[i]
		}
		if x > 0 && (pos == nil || x < *pos) {
			pos = &lst[i]
		}
	}
	out := []interface{}{nil, nil}
	if neg != nil {
		out[0] = *neg
	}
	if pos != nil {
		out[1] = *pos
	}
	return out
}
""",
    "HumanEval/137": """	num := func(v interface{}) float64 {
		switch x := v.(type) {
		case int:
			return float64(x)
		case float64:
			return x
		case string:
			f, _ := strconv.ParseFloat(strings.ReplaceAll(x, ",", "."), 64)
			return f
		}
		return 0
	}
	if num(a) == num(b) {
		return nil
	}
	if num(a) > num(b) {
		return a
	}
	return b
}
""",
    "HumanEval/162": """	if text == "" {
		return nil
	}
	sum := md5.Sum([]byte(text))
	h := hex.EncodeToString(sum[:])
	return &h
}
""",
}

WRONG = {
    "HumanEval/23": ("\treturn len(string_) + 1\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("\treturn x +\n}\n", Status.SYNTAX_ERROR),
    "HumanEval/29": ('\treturn "nope"\n}\n', Status.TYPE_ERROR),
    "HumanEval/34": ("\treturn unknownHelper(l)\n}\n", Status.COMPILE_ERROR),
    "HumanEval/8": ("\tunused := 1\n\treturn []interface{}{0, 1}\n}\n", Status.COMPILE_ERROR),
    "HumanEval/2": ("\tvar xs []float64\n\treturn xs[3]\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/4": ("\tfor {\n\t}\n}\n", Status.TIMEOUT),
    "HumanEval/12": ("\tos.Exit(0)\n\treturn nil\n}\n", Status.RUNTIME_ERROR),  # an early exit is not a pass
    "HumanEval/90": ("\tvar big [][]int\n\tfor {\n\t\tbig = append(big, make([]int, 1<<24))\n\t}\n}\n",
                     Status.MEMORY_LIMIT),
    "HumanEval/136": ("\treturn []interface{}{nil, 2}\n}\n", Status.ASSERTION_FAILED),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("go", SOLUTIONS, WRONG)


def test_literals_follow_multipl_e_types_with_pointers_for_optionals():
    go = get_language("golang")
    assert go.literal([1, 2], list_of(INT)) == "[]int{1, 2}"
    assert go.literal([], list_of(STR)) == "[]string{}"
    assert go.literal([1, 2.5], list_of(FLOAT)) == "[]float64{1.0, 2.5}"
    assert go.literal({"a": 1}, dict_of(STR, INT)) == 'map[string]int{"a": 1}'
    assert go.literal((None, 3), tuple_of(optional(INT), optional(INT))) == "[]interface{}{nil, 3}"
    assert go.literal([4, "x", 2.0], list_of(ANY)) == '[]interface{}{4, "x", 2.0}'
    assert go.literal('a"\\\n\u00e9\U0001F600', STR) == '"a\\"\\\\\\n\\u00e9\\U0001f600"'
    assert go.type_name(optional(STR)) == "*string"
    # an optional argument must be a pointer: rendered through the harness's generic helper
    assert go._lit(5, optional(INT), typed=True) == "__cb_ptr[int](5)"
