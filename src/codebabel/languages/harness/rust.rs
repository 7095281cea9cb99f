// A fragment of every Rust test harness codebabel writes (languages/rust.py), kept here as real
// Rust code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: the CodebabelEq trait and its impls for scalars (f64 within the tolerance), Vec, Option and
// HashMap; languages/rust.py adds the impls of the signature's tuples and enums after it.
// check: codebabel_check, before fn main.

// codebabel-part: helpers
trait CodebabelEq {
    fn codebabel_eq(&self, other: &Self) -> bool;
}
impl CodebabelEq for isize {
    fn codebabel_eq(&self, other: &Self) -> bool { self == other }
}
impl CodebabelEq for f64 {
    fn codebabel_eq(&self, other: &Self) -> bool { self == other || (self - other).abs() < @FLOAT_TOLERANCE@ }
}
impl CodebabelEq for bool {
    fn codebabel_eq(&self, other: &Self) -> bool { self == other }
}
impl CodebabelEq for String {
    fn codebabel_eq(&self, other: &Self) -> bool { self == other }
}
impl<T: CodebabelEq> CodebabelEq for Vec<T> {
    fn codebabel_eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.codebabel_eq(b))
    }
}
impl<T: CodebabelEq> CodebabelEq for Option<T> {
    fn codebabel_eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.codebabel_eq(b),
            (None, None) => true,
            _ => false,
        }
    }
}
impl<K: std::hash::Hash + Eq, V: CodebabelEq> CodebabelEq for std::collections::HashMap<K, V> {
    fn codebabel_eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k).map_or(false, |w| v.codebabel_eq(w)))
    }
}

// codebabel-part: check
fn codebabel_check(ok: bool, test: usize) {
    if !ok {
        eprintln!("@ASSERT_MARKER@ test {}", test);
        std::process::exit(1);
    }
}
