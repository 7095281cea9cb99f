"""Java: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions, problems_by_id

SOLUTIONS = {
    "HumanEval/0": """        for (int i = 0; i < numbers.size(); i++)
            for (int j = i + 1; j < numbers.size(); j++)
                if (Math.abs(numbers.get(i) - numbers.get(j)) < threshold) return true;
        return false;""",
    "HumanEval/2": "        return number % 1.0;",
    "HumanEval/4": """        double mean = numbers.stream().mapToDouble(x -> x).average().orElse(0.0);
        return numbers.stream().mapToDouble(x -> Math.abs(x - mean)).average().orElse(0.0);""",
    "HumanEval/8": """        long s = 0, p = 1;
        for (long x : numbers) { s += x; p *= x; }
        return Pair.with(s, p);""",
    "HumanEval/12": """        if (strings.isEmpty()) return Optional.empty();
        String best = strings.get(0);
        for (String s : strings) if (s.length() > best.length()) best = s;
        return Optional.of(best);""",
    "HumanEval/22": """        ArrayList<Long> out = new ArrayList<>();
        for (Object v : values) if (v instanceof Long) out.add((Long) v);
        return out;""",
    "HumanEval/34": "        return new ArrayList<Long>(new TreeSet<Long>(l));",
    "HumanEval/87": """        ArrayList<Pair<Long, Long>> out = new ArrayList<>();
        for (int i = 0; i < lst.size(); i++)
            for (int j = lst.get(i).size() - 1; j >= 0; j--)
                if (lst.get(i).get(j) == x) out.add(Pair.with((long) i, (long) j));
        return out;""",
    "HumanEval/95": """        if (dict.isEmpty()) return false;
        boolean lower = true, upper = true;
        for (Object k : dict.keySet()) {
            if (!(k instanceof String)) return false;
            String s = (String) k;
            lower &= s.equals(s.toLowerCase());
            upper &= s.equals(s.toUpperCase());
        }
        return lower || upper;""",
    "HumanEval/103": """        if (m < n) return -1L;
        long s = n + m, r = s / 2;
        if (s % 2 != 0 && r % 2 != 0) r += 1;  // Python's round: half to even
        return "0b" + Long.toBinaryString(r);""",
    "HumanEval/111": """        HashMap<String, Long> counts = new HashMap<>();
        for (String w : test.split(" ")) if (!w.isEmpty()) counts.merge(w, 1L, Long::sum);
        long most = counts.values().stream().mapToLong(v -> v).max().orElse(0);
        HashMap<String, Long> out = new HashMap<>();
        for (Map.Entry<String, Long> e : counts.entrySet()) if (e.getValue() == most) out.put(e.getKey(), most);
        return out;""",
    "HumanEval/136": """        Optional<Long> neg = lst.stream().filter(x -> x < 0).max(Long::compare);
        Optional<Long> pos = lst.stream().filter(x -> x > 0).min(Long::compare);
        return Pair.with(neg, pos);""",
    "HumanEval/137": """        double x = a instanceof String ? Double.parseDouble(((String) a).replace(',', '.')) : ((Number) a).doubleValue();
        double y = b instanceof String ? Double.parseDouble(((String) b).replace(',', '.')) : ((Number) b).doubleValue();
        if (x == y) return Optional.empty();
        return Optional.of(x > y ? a : b);""",
    "HumanEval/162": """        if (text.isEmpty()) return Optional.empty();
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest(text.getBytes("UTF-8"));
            return Optional.of(String.format("%032x", new BigInteger(1, d)));
        } catch (Exception e) {
            throw new RuntimeException(e);
        }""",
}

WRONG = {
    "HumanEval/23": ("        return string.length() + 1;", Status.ASSERTION_FAILED),
    "HumanEval/53": ("        return x + ;", Status.SYNTAX_ERROR),
    "HumanEval/29": ('        return "nope";', Status.TYPE_ERROR),
    "HumanEval/2": ("        return Math.nope(number);", Status.COMPILE_ERROR),  # cannot find symbol
    "HumanEval/34": ("        return new ArrayList<Long>(l.subList(0, 1000));", Status.RUNTIME_ERROR),
    "HumanEval/8": ("        while (true) {}", Status.TIMEOUT),
    "HumanEval/12": ("        System.exit(0);\n        return Optional.empty();", Status.RUNTIME_ERROR),
    # 16 GB at once: more than the heap (the configured memory), refused before any of it is touched
    "HumanEval/4": ("        long[] a = new long[2000000000];\n        return a.length;", Status.MEMORY_LIMIT),
    "HumanEval/162": ("        return Optional.of(text)", Status.SYNTAX_ERROR),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("java", SOLUTIONS, WRONG)


def test_prompt_follows_multipl_e():
    p = problems_by_id("java")["HumanEval/0"]
    assert p.prompt.startswith("import java.util.*;\n")
    assert "class Problem {\n    // Check if in given array list of numbers" in p.prompt
    assert p.prompt.endswith("    public static boolean hasCloseElements(ArrayList<Double> numbers, double threshold) {\n")
    assert "hasCloseElements(new ArrayList<Double>(Arrays.asList(1.0, 2.0, 3.0)), 0.5)" in p.prompt
    assert p.entry_point == "hasCloseElements"
    assert p.tests.startswith("    }\n")


def test_literals():
    from codebabel.languages.types import FLOAT, INT, STR, dict_of, list_of, optional, tuple_of

    java = get_language("java")
    assert java.literal(3, FLOAT) == "3.0"
    assert java.literal(-2, INT) == "-2L"
    assert java.literal("a\"b\\c\n\u00e9\x01", STR) == '"a\\"b\\\\c\\n\u00e9\\u0001"'
    assert java.literal([], list_of(INT)) == "new ArrayList<Long>()"
    assert java.literal((1, "x"), tuple_of(INT, STR)) == 'Pair.with(1L, "x")'
    assert java.literal(None, optional(INT)) == "Optional.empty()"
    big = {str(i): i for i in range(11)}  # Map.of takes at most ten pairs
    assert java.literal(big, dict_of(STR, INT)).startswith('new HashMap<String,Long>(Map.ofEntries(Map.entry("0", 0L)')


def test_backslash_u_in_comments_stays_text():
    from codebabel.languages.java import comment_safe

    # javac and scalac decode \uXXXX in comments too; an odd run of backslashes before "u" gets one more
    assert comment_safe("a \\u00 b \\\\u c \\\\\\u") == "a \\\\u00 b \\\\u c \\\\\\\\u"
