"""Julia: translations read as MultiPL-E's, and (where julia is installed) hand-written solutions pass while
wrong ones fail with the right status. No Debian package provides Julia, so the execution test skips
without it (tests.langkit.require_toolchain)."""

from codebabel.benchmarks import load_benchmark_with_skips
from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import ANY, BOOL, FLOAT, INT, STR, dict_of, list_of, optional, tuple_of, union
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """    for i in 1:length(numbers), j in i+1:length(numbers)
        if abs(numbers[i] - numbers[j]) < threshold
            return true
        end
    end
    return false
end
""",
    "HumanEval/2": "    return number - floor(number)\nend\n",
    "HumanEval/8": "    return (sum(numbers), prod(numbers))\nend\n",
    "HumanEval/12": """    isempty(strings) && return nothing
    best = strings[1]
    for s in strings
        if length(s) > length(best)
            best = s
        end
    end
    return best
end
""",
    "HumanEval/22": "    return Int64[v for v in values if v isa Int64]\nend\n",
    "HumanEval/23": "    return length(string)\nend\n",
    # the entry point is renamed unique_, so Base.unique stays callable
    "HumanEval/34": "    return sort(unique(l))\nend\n",
    "HumanEval/47": """    s = sort(l)
    n = length(s)
    return isodd(n) ? Float64(s[(n + 1) ÷ 2]) : (s[n ÷ 2] + s[n ÷ 2 + 1]) / 2
end
""",
    "HumanEval/53": "    return x + y\nend\n",
    "HumanEval/87": """    out = Tuple{Int64, Int64}[]
    for (i, row) in enumerate(lst)
        for j in length(row):-1:1
            if row[j] == x
                push!(out, (i - 1, j - 1))
            end
        end
    end
    return out
end
""",
    "HumanEval/95": """    isempty(dict) && return false
    ks = collect(keys(dict))
    all(k -> k isa String, ks) || return false
    return all(k -> all(islowercase, k), ks) || all(k -> all(isuppercase, k), ks)
end
""",
    "HumanEval/103": """    n > m && return -1
    return "0b" * string(round(Int64, (n + m) / 2), base=2)
end
""",
    "HumanEval/111": """    counts = Dict{String, Int64}()
    for w in split(test)
        counts[w] = get(counts, w, 0) + 1
    end
    isempty(counts) && return counts
    m = maximum(values(counts))
    return filter(p -> p.second == m, counts)
end
""",
    "HumanEval/112": """    r = filter(ch -> !(ch in c), s)
    return (r, r == reverse(r))
end
""",
    "HumanEval/136": """    neg = filter(x -> x < 0, lst)
    pos = filter(x -> x > 0, lst)
    return (isempty(neg) ? nothing : maximum(neg), isempty(pos) ? nothing : minimum(pos))
end
""",
}

WRONG = {
    "HumanEval/23": ("    return length(string) + 1\nend\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("    return x +\nend\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("    error(\"boom\")\nend\n", Status.RUNTIME_ERROR),
    # a String where the declared return type is Int64
    "HumanEval/13": ("    return \"x\"\nend\n", Status.TYPE_ERROR),
    "HumanEval/29": ("    while true\n    end\nend\n", Status.TIMEOUT),
    "HumanEval/34": ("    exit(0)\nend\n", Status.RUNTIME_ERROR),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("jl", SOLUTIONS, WRONG)


def _problems():
    problems, skipped = load_benchmark_with_skips("humaneval", "jl")
    return {p.task_id: p for p in problems}, skipped


def test_translates_161_with_only_the_common_skips():
    problems, skipped = _problems()
    assert len(problems) == 161
    assert sorted(s.task_id for s in skipped) == ["HumanEval/32", "HumanEval/38", "HumanEval/50"]


def test_prompt_is_a_docstring_then_a_typed_header():
    p = _problems()[0]["HumanEval/0"]
    assert p.prompt == '''"""
Check if in given vector of numbers, are any two numbers closer to each other than
given threshold.
>>> has_close_elements([1.0, 2.0, 3.0], 0.5)
false
>>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
true
"""
function has_close_elements(numbers::Vector{Float64}, threshold::Float64)::Bool
'''
    assert p.stub == "    return false\nend\n"
    assert "__codebabel_check(1, __codebabel_eq(has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3), true))" \
        in p.tests


def test_signatures_of_optional_tuple_dict_and_union_problems():
    problems, _ = _problems()
    headers = {t: problems[t].prompt.rsplit('"""\n', 1)[-1] for t in
               ("HumanEval/12", "HumanEval/87", "HumanEval/95", "HumanEval/111", "HumanEval/136", "HumanEval/137")}
    assert headers["HumanEval/12"] == "function longest(strings::Vector{String})::Union{String, Nothing}\n"
    assert headers["HumanEval/87"] == \
        "function get_row(lst::Vector{Vector{Int64}}, x::Int64)::Vector{Tuple{Int64, Int64}}\n"
    assert headers["HumanEval/95"] == "function check_dict_case(dict::Dict{Union{String, Int64}, String})::Bool\n"
    assert headers["HumanEval/111"] == "function histogram(test::String)::Dict{String, Int64}\n"
    assert headers["HumanEval/136"] == ("function largest_smallest_integers(lst::Vector{Int64})"
                                        "::Tuple{Union{Int64, Nothing}, Union{Int64, Nothing}}\n")
    assert headers["HumanEval/137"] == ("function compare_one(a::Union{Int64, String}, b::Union{Float64, String, "
                                        "Int64})::Union{Float64, String, Nothing}\n")
    # empty and non-concrete containers carry their type (Julia's parametric types are invariant)
    assert "get_row(Vector{Int64}[], 1), Tuple{Int64, Int64}[])" in problems["HumanEval/87"].tests
    assert 'check_dict_case(Dict{Union{String, Int64}, String}("p" => "pineapple", 5 => "banana", "a" => "apple"))' \
        in problems["HumanEval/95"].tests
    assert 'filter_integers(Any[4, Dict(), [], 23.2, 9, "adasd"]), [4, 9])' in problems["HumanEval/22"].tests
    # Base names are not shadowed: the entry point is renamed
    assert "function unique_(l::Vector{Int64})::Vector{Int64}\n" in problems["HumanEval/34"].prompt


def test_literals_follow_the_type():
    jl = get_language("jl")
    assert jl.literal([1, 2], list_of(FLOAT)) == "[1.0, 2.0]"
    assert jl.literal([], list_of(STR)) == "String[]"
    assert jl.literal([None, 1], list_of(optional(INT))) == "Union{Int64, Nothing}[nothing, 1]"
    assert jl.literal((1,), tuple_of(INT)) == "(1,)"
    assert jl.literal(("a", True), tuple_of(STR, BOOL)) == '("a", true)'
    assert jl.literal({"a": 1}, dict_of(STR, INT)) == 'Dict("a" => 1)'
    assert jl.literal({}, dict_of(STR, INT)) == "Dict{String, Int64}()"
    assert jl.literal(3, union(FLOAT, STR, INT)) == "3"
    assert jl.literal(3, union(FLOAT, STR)) == "3.0"
    assert jl.literal([1, "x"], list_of(ANY)) == 'Any[1, "x"]'
    assert jl.literal('a "$b" \\ \n', STR) == '"a \\"\\$b\\" \\\\ \\n"'
    assert jl.literal(None, optional(INT)) == "nothing"


def test_execution_needs_julia_from_julialang_org():
    jl = get_language("jl")
    assert jl.apt_packages == () and "julialang.org" in jl.install_hint
    spec = jl.run_spec("println(1)\n")
    assert spec.files == {"main.jl": "println(1)\n"}
    assert spec.run[-1] == "main.jl" and "--startup-file=no" in spec.run
