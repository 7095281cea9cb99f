// A fragment of every TypeScript test harness codebabel writes (languages/typescript.py), kept here as real
// TypeScript code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// prelude: Node's globals declared (no @types/node), __codebabel_eq and __codebabel_assert, typed.

// codebabel-part: prelude
declare var require: any;
declare var process: any;
declare var console: any;
function __codebabel_eq(a: any, b: any): boolean {
  if (a == null && b == null) return true;
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) < @FLOAT_TOLERANCE@;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length
      && a.every((x: any, i: number) => __codebabel_eq(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return __codebabel_eq(ka, kb) && ka.every((k: string) => __codebabel_eq(a[k], b[k]));
  }
  return a === b;
}
function __codebabel_assert(ok: boolean, i: number): void {
  if (!ok) {
    process.stderr.write("@ASSERT_MARKER@ test " + i + "\n");
    process.exit(1);
  }
}
