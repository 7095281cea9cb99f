// A fragment of every PHP test harness codebabel writes (languages/php.py), kept here as real
// PHP code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __codebabel_eq (numbers within the tolerance, lists by position, other arrays by key) and
// __codebabel_check.

// codebabel-part: helpers
function __codebabel_eq($a, $b) {
    if ((is_int($a) || is_float($a)) && (is_int($b) || is_float($b))) {
        return $a == $b || abs($a - $b) < @FLOAT_TOLERANCE@;
    }
    if (is_array($a) && is_array($b)) {
        if (count($a) !== count($b)) {
            return false;
        }
        if (array_is_list($b)) {
            $a = array_values($a);
            foreach ($b as $i => $x) {
                if (!__codebabel_eq($a[$i], $x)) {
                    return false;
                }
            }
            return true;
        }
        foreach ($b as $k => $x) {
            if (!array_key_exists($k, $a) || !__codebabel_eq($a[$k], $x)) {
                return false;
            }
        }
        return true;
    }
    return $a === $b;
}

function __codebabel_check($ok, $i) {
    if (!$ok) {
        fwrite(STDERR, "@ASSERT_MARKER@ test " . $i . "\n");
        exit(1);
    }
}
