"""C++: hand-written solutions pass the translated tests, wrong ones fail with the right status.

Completions stop before the function's closing brace (MultiPL-E's stop token "\\n}"): the harness adds it.
"""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """    for (std::size_t i = 0; i < numbers.size(); i++)
        for (std::size_t j = i + 1; j < numbers.size(); j++)
            if (std::fabs(numbers[i] - numbers[j]) < threshold) return true;
    return false;
""",
    "HumanEval/2": "    return number - std::floor(number);\n",
    "HumanEval/4": """    double mean = std::accumulate(numbers.begin(), numbers.end(), 0.0) / numbers.size();
    double total = 0;
    for (double x : numbers) total += std::fabs(x - mean);
    return total / numbers.size();
""",
    "HumanEval/8": """    long sum = 0, product = 1;
    for (long x : numbers) { sum += x; product *= x; }
    return std::make_tuple(sum, product);
""",
    "HumanEval/12": """    if (strings.empty()) return std::nullopt;
    std::string best = strings[0];
    for (const auto& s : strings) if (s.size() > best.size()) best = s;
    return best;
""",
    "HumanEval/22": """    std::vector<long> out;
    for (const auto& v : values)
        if (v.type() == typeid(long)) out.push_back(std::any_cast<long>(v));
    return out;
""",
    "HumanEval/23": "    return string.size();\n",
    "HumanEval/29": """    std::vector<std::string> out;
    for (const auto& s : strings) if (s.rfind(prefix, 0) == 0) out.push_back(s);
    return out;
""",
    "HumanEval/34": """    std::set<long> s(l.begin(), l.end());
    return std::vector<long>(s.begin(), s.end());
""",
    "HumanEval/53": "    return x + y;\n",
    "HumanEval/95": """    if (dict.empty()) return false;
    bool lower = true, upper = true;
    for (const auto& kv : dict) {
        if (!std::holds_alternative<std::string>(kv.first)) return false;
        for (char c : std::get<std::string>(kv.first)) {
            if (std::isupper((unsigned char)c)) lower = false;
            if (std::islower((unsigned char)c)) upper = false;
        }
    }
    return lower || upper;
""",
    "HumanEval/103": """    if (n > m) return -1L;
    long sum = n + m, avg = sum / 2;
    if (sum % 2 == 1 && avg % 2 == 1) avg++;  // Python's round: halves go to the even neighbour
    std::string bits;
    for (long v = avg; v > 0; v /= 2) bits = char('0' + v % 2) + bits;
    return "0b" + (bits.empty() ? std::string("0") : bits);
""",
    "HumanEval/111": """    std::map<std::string, long> counts;
    std::istringstream in(test);
    std::string w;
    while (in >> w) counts[w]++;
    long most = 0;
    for (const auto& kv : counts) most = std::max(most, kv.second);
    std::map<std::string, long> out;
    for (const auto& kv : counts) if (kv.second == most) out[kv.first] = kv.second;
    return out;
""",
    "HumanEval/125": """    std::vector<std::string> words;
    std::istringstream in(txt);
    std::string w;
    if (txt.find(' ') != std::string::npos) {
        while (in >> w) words.push_back(w);
        return words;
    }
    if (txt.find(',') != std::string::npos) {
        while (std::getline(in, w, ',')) words.push_back(w);
        return words;
    }
    long count = 0;
    for (char c : txt) if (std::islower((unsigned char)c) && (c - 'a') % 2 == 1) count++;
    return count;
""",
    "HumanEval/136": """    std::optional<long> neg, pos;
    for (long x : lst) {
        if (x < 0 && (!neg || x > *neg)) neg = x;
        if (x > 0 && (!pos || x < *pos)) pos = x;
    }
    return std::make_tuple(neg, pos);
""",
    "HumanEval/137": """    auto num = [](const auto& v) {
        return std::visit([](const auto& x) -> double {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
                std::string s = x;
                std::replace(s.begin(), s.end(), ',', '.');
                return std::stod(s);
            } else {
                return (double)x;
            }
        }, v);
    };
    double x = num(a), y = num(b);
    if (x == y) return std::nullopt;
    if (x > y) {
        if (std::holds_alternative<std::string>(a)) return std::variant<double, std::string>(std::get<std::string>(a));
        return std::variant<double, std::string>((double)std::get<long>(a));
    }
    if (std::holds_alternative<std::string>(b)) return std::variant<double, std::string>(std::get<std::string>(b));
    if (std::holds_alternative<long>(b)) return std::variant<double, std::string>((double)std::get<long>(b));
    return std::variant<double, std::string>(std::get<double>(b));
""",
}

WRONG = {
    "HumanEval/23": ("    return string.size() + 1;\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("    return x + ;\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("    std::string s = number;\n    return 0.0;\n", Status.TYPE_ERROR),
    "HumanEval/29": ("    return no_such_function(strings);\n", Status.COMPILE_ERROR),
    "HumanEval/34": ("    return std::vector<long>{l.at(l.size())};\n", Status.RUNTIME_ERROR),  # std::out_of_range
    "HumanEval/0": ("    volatile long* p = nullptr;\n    return *p == 0;\n", Status.RUNTIME_ERROR),  # SIGSEGV
    "HumanEval/8": ("    std::vector<long> v(1L << 40);\n    return std::make_tuple(v[0], 1L);\n",
                    Status.MEMORY_LIMIT),  # std::bad_alloc under the address-space limit
    "HumanEval/4": ("    std::exit(0);\n", Status.RUNTIME_ERROR),  # an early exit is not a pass
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("cpp", SOLUTIONS, WRONG)


def test_names_and_translation_details():
    from codebabel.benchmarks import load_benchmark

    cpp = get_language("c++")
    assert cpp is get_language("cxx") is get_language(".cc") is get_language("hpp")
    problems = {p.task_id: p for p in load_benchmark("humaneval", "cpp")}
    # a string argument is a std::string, so `strlen("x")` cannot resolve to the C library's strlen
    assert 'strlen(std::string(""))' in problems["HumanEval/23"].tests
    assert "long do_algebra(std::vector<std::string> operator_, std::vector<long> operand) {" \
        in problems["HumanEval/160"].prompt
    assert "std::variant<std::string, long> rounded_avg(long n, long m) {\n" in problems["HumanEval/103"].prompt
    assert problems["HumanEval/0"].prompt.endswith("bool has_close_elements(std::vector<double> numbers, "
                                                   "double threshold) {\n")
    assert problems["HumanEval/0"].tests.startswith("}\n")


def test_precompiled_header_is_skipped_where_the_sandbox_would_hide_it(monkeypatch):
    from codebabel.languages import cpp

    # the sandbox mounts its working directory over /tmp: a header there is not one the compiler can see
    monkeypatch.setenv("CODEBABEL_HOME", "/tmp/codebabel-home-for-cpp-test")
    assert cpp.precompiled_header() is None
    spec = get_language("cpp").run_spec("int main() {}\n")
    assert "-include" not in spec.compile and spec.ro_paths == ()
    assert spec.compile[:3] == ["g++", "-std=c++17", "-O0"]
