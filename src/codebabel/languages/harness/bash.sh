# A fragment of every Bash test harness codebabel writes (languages/bash.py), kept here as real
# Bash code. languages/render.py's harness_code reads it: each part runs from its
# `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
# languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
# words, lines: a value's words (and lines) with their whitespace normalised, as the comparisons need them.
# eq_*: __codebabel_eq ACTUAL EXPECTED, one per mode of the return type (languages/bash.py's _mode):
# exact, words, lines, dict (lines in any order), float (numbers within the tolerance, by awk).
# check: __codebabel_check, which reports a failed test (or a function that exited non-zero).

# codebabel-part: words
__codebabel_words() {
  local IFS=$' \t\n'
  set -f
  set -- $1
  set +f
  printf '%s' "$*"
}

# codebabel-part: lines
__codebabel_lines() {
  local line
  local -a rows=()
  while IFS= read -r line || [[ -n $line ]]; do rows+=("$(__codebabel_words "$line")"); done <<< "$1"
  local IFS=$'\n'
  printf '%s' "${rows[*]}"
}

# codebabel-part: eq_exact
__codebabel_eq() { [[ "$1" == "$2" ]]; }

# codebabel-part: eq_words
__codebabel_eq() { [[ "$(__codebabel_words "$1")" == "$(__codebabel_words "$2")" ]]; }

# codebabel-part: eq_lines
__codebabel_eq() { [[ "$(__codebabel_lines "$1")" == "$(__codebabel_lines "$2")" ]]; }

# codebabel-part: eq_dict
__codebabel_sorted() { __codebabel_lines "$1" | LC_ALL=C sort; }
__codebabel_eq() { [[ "$(__codebabel_sorted "$1")" == "$(__codebabel_sorted "$2")" ]]; }

# codebabel-part: eq_float
__codebabel_eq() {
  __codebabel_a="$1" __codebabel_b="$2" awk 'BEGIN {
    na = split(ENVIRON["__codebabel_a"], a); nb = split(ENVIRON["__codebabel_b"], b)
    if (na != nb) exit 1
    num = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
    for (i = 1; i <= na; i++) {
      if (a[i] == b[i]) continue
      if (a[i] !~ num || b[i] !~ num) exit 1
      d = (a[i] + 0) - (b[i] + 0)
      if (d < 0) d = -d
      if (d > @FLOAT_TOLERANCE@) exit 1
    }
    exit 0
  }'
}

# codebabel-part: check
__codebabel_check() {
  if ! __codebabel_eq "$3" "$4"; then
    if [[ $2 -ne 0 ]]; then
      printf 'codebabel: test %s: the function exited with status %s and printed %q\n' "$1" "$2" "$3" >&2
      exit 1
    fi
    printf '@ASSERT_MARKER@ test %s: got %q, want %q\n' "$1" "$3" "$4" >&2
    exit 1
  fi
}
