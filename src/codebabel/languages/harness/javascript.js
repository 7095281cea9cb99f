// A fragment of every JavaScript test harness codebabel writes (languages/javascript.py), kept here as real
// JavaScript code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __codebabel_eq (numbers within the tolerance, arrays and objects element by element) and
// __codebabel_assert.

// codebabel-part: helpers
function __codebabel_eq(a, b) {
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) < @FLOAT_TOLERANCE@;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length
      && a.every((x, i) => __codebabel_eq(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return __codebabel_eq(ka, kb) && ka.every((k) => __codebabel_eq(a[k], b[k]));
  }
  return a === b;
}
function __codebabel_assert(ok, i) {
  if (!ok) {
    process.stderr.write("@ASSERT_MARKER@ test " + i + "\n");
    process.exit(1);
  }
}
