"""Bash: hand-written solutions pass the translated tests, wrong ones fail with the right status.

Completions are function bodies: the stop token ``\\n}`` cuts the closing brace, which the harness supplies.
"""

from codebabel.benchmarks import load_benchmark
from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import ANY, BOOL, INT, STR, list_of, tuple_of
from tests.langkit import check_solutions

SOLUTIONS = {
    # list of floats -> bool, with awk doing the arithmetic
    "HumanEval/0": """    awk -v t="$2" -v s="$1" 'BEGIN {
        n = split(s, a)
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
            d = a[i] - a[j]; if (d < 0) d = -d
            if (d < t) { print "true"; exit }
        }
        print "false"
    }'
""",
    # float -> float: compared within the tolerance, so awk's formatting is fine
    "HumanEval/2": """    awk -v x="$1" 'BEGIN { printf "%.12g\\n", x - int(x) }'
""",
    # list items holding spaces come one per line; splitting on words still filters them right
    "HumanEval/7": """    local s
    for s in $1; do [[ $s == *"$2"* ]] && echo "$s"; done
    return 0
""",
    # tuple -> space-separated
    "HumanEval/8": """    local s=0 p=1 x
    for x in $1; do s=$((s + x)); p=$((p * x)); done
    echo "$s $p"
""",
    # optional string: None for an empty list
    "HumanEval/12": """    local best="" found=0 w
    for w in $1; do
        if (( ! found || ${#w} > ${#best} )); then best=$w; found=1; fi
    done
    if (( found )); then echo "$best"; else echo "None"; fi
""",
    # a list of Python "any" values: keep the integers (a trailing space is fine)
    "HumanEval/22": """    local v
    for v in $1; do [[ $v =~ ^-?[0-9]+$ ]] && printf '%s ' "$v"; done
    echo
""",
    "HumanEval/23": "    echo ${#1}\n",
    # one item per line is as good as one line of items
    "HumanEval/34": "    printf '%s\\n' $1 | sort -n -u\n",
    "HumanEval/53": "    echo $(( $1 + $2 ))\n",
    # nested list: newline-separated rows of space-separated items, in and out
    "HumanEval/87": """    local row=0 line j
    while IFS= read -r line; do
        local -a cols=($line)
        for (( j = ${#cols[@]} - 1; j >= 0; j-- )); do
            [[ ${cols[j]} == "$2" ]] && echo "$row $j"
        done
        row=$((row + 1))
    done <<< "$1"
    return 0
""",
    # dict argument: key,value lines
    "HumanEval/95": """    [[ -z $1 ]] && { echo false; return; }
    local lower=1 upper=1 line key
    while IFS= read -r line; do
        key=${line%%,*}
        [[ $key =~ ^[a-z]+$ ]] || lower=0
        [[ $key =~ ^[A-Z]+$ ]] || upper=0
    done <<< "$1"
    if (( lower || upper )); then echo true; else echo false; fi
""",
    # dict result in any order; the function's last command fails, which is fine when the output is right
    "HumanEval/111": """    declare -A c
    local w max=0
    for w in $1; do c[$w]=$(( ${c[$w]:-0} + 1 )); done
    for w in "${!c[@]}"; do (( c[$w] > max )) && max=${c[$w]}; done
    for w in "${!c[@]}"; do (( c[$w] == max )) && echo "$w,${c[$w]}"; done
""",
    # tuple (str, bool); the empty string leaves a leading space
    "HumanEval/112": """    local s="$1" r="" rev="" i ch
    for (( i = 0; i < ${#s}; i++ )); do ch=${s:i:1}; [[ "$2" == *"$ch"* ]] || r+=$ch; done
    for (( i = ${#r} - 1; i >= 0; i-- )); do rev+=${r:i:1}; done
    if [[ $r == "$rev" ]]; then echo "$r true"; else echo "$r false"; fi
""",
    # a list of sentences: one per line
    "HumanEval/113": """    local s n
    for s in $1; do
        n=${s//[02468]/}
        n=${#n}
        echo "the number of odd elements ${n}n the str${n}ng ${n} of the ${n}nput."
    done
""",
    # tuple of optionals
    "HumanEval/136": """    local neg="" pos="" x
    for x in $1; do
        if (( x < 0 )) && { [[ -z $neg ]] || (( x > neg )); }; then neg=$x; fi
        if (( x > 0 )) && { [[ -z $pos ]] || (( x < pos )); }; then pos=$x; fi
    done
    echo "${neg:-None} ${pos:-None}"
""",
    "HumanEval/162": """    [[ -z $1 ]] && { echo None; return; }
    printf '%s' "$1" | md5sum | cut -d' ' -f1
""",
}

WRONG = {
    "HumanEval/23": ("    echo $(( ${#1} + 1 ))\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("    if then\n", Status.SYNTAX_ERROR),
    # a missing command: the function fails and its output is wrong
    "HumanEval/13": ("    no_such_command_codebabel \"$1\" \"$2\"\n", Status.RUNTIME_ERROR),
    # an arithmetic "syntax error" is a runtime failure (bash -n does not see it)
    "HumanEval/60": ("    echo $(( $1 + ))\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("    while :; do :; done\n", Status.TIMEOUT),
    # `exit` in the function only ends the subshell of that one call: the test still fails
    "HumanEval/34": ("    exit 0\n", Status.ASSERTION_FAILED),
    # an exit at top level before the tests never prints the done marker
    "HumanEval/42": ("    echo\n}\nexit 0\n__codebabel_unused() {\n    :\n", Status.RUNTIME_ERROR),
    # strings compare exactly: a float where an int is expected is wrong
    "HumanEval/45": ("    echo 0\n", Status.ASSERTION_FAILED),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("sh", SOLUTIONS, WRONG)


def test_encoding_follows_multipl_e():
    sh = get_language("sh")
    assert sh.literal([1, 2, 3], list_of(INT)) == '"1 2 3"'
    assert sh.literal([], list_of(INT)) == '""'
    assert sh.literal([[1, 2], [], [3]], list_of(list_of(INT))) == "$'1 2\\n\\n3'"
    assert sh.literal({"a": 1, "b": 2}, STR) == "$'a,1\\nb,2'"
    assert sh.literal(("", True), tuple_of(STR, BOOL)) == '" true"'
    assert sh.literal(["a b", "c"], list_of(STR)) == "$'a b\\nc'"
    assert sh.literal([1, {}, [], "x"], list_of(ANY)) == '"1 {} [] x"'
    assert sh.literal('say "$HOME" `x` \\', STR) == '"say \\"\\$HOME\\" \\`x\\` \\\\"'
    assert sh.literal(None, STR) == '"None"' and sh.literal(False, STR) == '"false"'


def test_prompt_documents_the_argument_encoding():
    p = {q.task_id: q for q in load_benchmark("humaneval", "sh")}["HumanEval/0"]
    assert p.prompt.startswith("#!/bin/bash\n# Check if in given list of numbers")
    assert '# >>> $(has_close_elements "1.0 2.0 3.0" "0.5")\n# "false"\n' in p.prompt
    assert p.prompt.endswith("# $1 is a space-separated list\n# $2 is a floating point\nhas_close_elements() {\n")
    assert p.tests.startswith("}\n")
