"""C#: hand-written solutions pass the translated tests, wrong ones fail with the right status.

Completions are method bodies without the closing brace: the stop token "\\n    }\\n" cuts it (MultiPL-E).
"""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import FLOAT, INT, STR, list_of, optional, tuple_of
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """        for (int i = 0; i < numbers.Count; i++)
            for (int j = i + 1; j < numbers.Count; j++)
                if (Math.Abs(numbers[i] - numbers[j]) < threshold) return true;
        return false;
""",
    "HumanEval/2": "        return number % 1.0;\n",
    "HumanEval/4": """        double mean = numbers.Average();
        return numbers.Select(x => Math.Abs(x - mean)).Average();
""",
    "HumanEval/8": """        long s = 0, p = 1;
        foreach (long x in numbers) { s += x; p *= x; }
        return Tuple.Create(s, p);
""",
    "HumanEval/12": """        if (strings.Count == 0) return null;
        string best = strings[0];
        foreach (string s in strings) if (s.Length > best.Length) best = s;
        return best;
""",
    "HumanEval/20": """        var sorted = numbers.OrderBy(x => x).ToList();
        Tuple<double, double> best = null;
        for (int i = 1; i < sorted.Count; i++)
            if (best == null || sorted[i] - sorted[i - 1] < best.Item2 - best.Item1)
                best = Tuple.Create(sorted[i - 1], sorted[i]);
        return best;
""",
    "HumanEval/22": "        return values.Where(v => v is long).Select(v => (long)v).ToList();\n",
    "HumanEval/29": "        return strings.Where(s => s.StartsWith(prefix)).ToList();\n",
    "HumanEval/34": "        return l.Distinct().OrderBy(x => x).ToList();\n",
    "HumanEval/87": """        var result = new List<Tuple<long, long>>();
        for (int i = 0; i < lst.Count; i++)
            for (int j = lst[i].Count - 1; j >= 0; j--)
                if (lst[i][j] == x) result.Add(Tuple.Create((long)i, (long)j));
        return result;
""",
    "HumanEval/90": """        var u = lst.Distinct().OrderBy(x => x).ToList();
        if (u.Count < 2) return null;
        return u[1];
""",
    "HumanEval/95": """        if (dict.Count == 0) return false;
        bool lower = true, upper = true;
        foreach (object k in dict.Keys) {
            string s = k as string;
            if (s == null) return false;
            if (s != s.ToLower()) lower = false;
            if (s != s.ToUpper()) upper = false;
        }
        return lower || upper;
""",
    "HumanEval/103": """        if (m < n) return -1L;
        long avg = (long)Math.Round((n + m) / 2.0, MidpointRounding.ToEven);
        return "0b" + Convert.ToString(avg, 2);
""",
    "HumanEval/111": """        var counts = new Dictionary<string, long>();
        foreach (string w in test.Split(' ')) {
            if (w == "") continue;
            counts[w] = counts.ContainsKey(w) ? counts[w] + 1 : 1;
        }
        var result = new Dictionary<string, long>();
        if (counts.Count == 0) return result;
        long most = counts.Values.Max();
        foreach (var kv in counts) if (kv.Value == most) result[kv.Key] = kv.Value;
        return result;
""",
    "HumanEval/112": """        string r = new string(s.Where(ch => c.IndexOf(ch) < 0).ToArray());
        return Tuple.Create(r, r == new string(r.Reverse().ToArray()));
""",
    "HumanEval/125": """        if (txt.Contains(" ")) return txt.Split(' ').ToList();
        if (txt.Contains(",")) return txt.Split(',').ToList();
        return (long)txt.Count(ch => char.IsLower(ch) && (ch - 'a') % 2 == 1);
""",
    "HumanEval/127": """        long lo = Math.Max(interval1.Item1, interval2.Item1), hi = Math.Min(interval1.Item2, interval2.Item2);
        long len = hi - lo;
        if (len < 2) return "NO";
        for (long d = 2; d * d <= len; d++) if (len % d == 0) return "NO";
        return "YES";
""",
    "HumanEval/136": """        long? neg = null, pos = null;
        foreach (long x in lst) {
            if (x < 0 && (neg == null || x > neg)) neg = x;
            if (x > 0 && (pos == null || x < pos)) pos = x;
        }
        return Tuple.Create(neg, pos);
""",
    "HumanEval/137": """        Func<object, double> num = v => v is string
            ? double.Parse(((string)v).Replace(',', '.'), System.Globalization.CultureInfo.InvariantCulture)
            : Convert.ToDouble(v);
        double x = num(a), y = num(b);
        if (x == y) return null;
        return x > y ? a : b;
""",
    "HumanEval/162": """        if (text == "") return null;
        using (var md5 = MD5.Create()) {
            byte[] hash = md5.ComputeHash(Encoding.UTF8.GetBytes(text));
            return BitConverter.ToString(hash).Replace("-", "").ToLower();
        }
""",
}

WRONG = {
    "HumanEval/23": ("        return string_.Length + 1;\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("        return x + ;\n", Status.SYNTAX_ERROR),
    "HumanEval/29": ('        return "nope";\n', Status.TYPE_ERROR),
    "HumanEval/34": ("        return unknown_helper(l);\n", Status.COMPILE_ERROR),
    "HumanEval/2": ("        return (double)new List<double>()[3];\n", Status.RUNTIME_ERROR),
    "HumanEval/4": ("        while (true) {}\n", Status.TIMEOUT),
    "HumanEval/12": ("        Environment.Exit(0);\n        return null;\n", Status.RUNTIME_ERROR),  # not a pass
    "HumanEval/8": ("        return Tuple.Create(0L, 1L);\n", Status.ASSERTION_FAILED),
    "HumanEval/90": ("        var big = new List<long[]>();\n        while (true) big.Add(new long[1 << 24]);\n",
                     Status.MEMORY_LIMIT),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("cs", SOLUTIONS, WRONG)


def test_literals_follow_multipl_e_types_with_double_floats():
    cs = get_language("c#")
    assert cs.literal([1, 2], list_of(INT)) == "new List<long>(new long[]{1L, 2L})"
    assert cs.literal([], list_of(STR)) == "new List<string>()"
    assert cs.literal([1, 2.5], list_of(FLOAT)) == "new List<double>(new double[]{1.0, 2.5})"
    assert cs.literal((None, 3), tuple_of(optional(INT), optional(INT))) \
        == "Tuple.Create((Nullable<long>)null, (Nullable<long>)3L)"
    assert cs.literal('a"\\\n\u00e9', STR) == '"a\\"\\\\\\n\\u00e9"'
    assert cs.type_name(optional(STR)) == "string"
    assert cs.type_name(optional(INT)) == "Nullable<long>"
