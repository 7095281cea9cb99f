# A fragment of every R test harness codebabel writes (languages/r.py), kept here as real
# R code. languages/render.py's harness_code reads it: each part runs from its
# `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
# languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
# helpers: .__codebabel_eq (named vectors and lists by name, numbers within the tolerance) and
# .__codebabel_check.

# codebabel-part: helpers
.__codebabel_eq <- function(a, b) {
  if (is.null(b)) return(length(a) == 0L && (is.atomic(a) || is.list(a)))
  if (is.null(a)) return(length(b) == 0L)
  if (!(is.atomic(a) || is.list(a))) return(FALSE)
  if (is.factor(a)) return(FALSE)
  nb <- names(b)
  if (!is.null(nb)) {
    na <- names(a)
    if (is.null(na) || length(a) != length(b) || anyDuplicated(na) || !setequal(na, nb)) return(FALSE)
    for (k in nb) if (!.__codebabel_eq(a[[k]], b[[k]])) return(FALSE)
    return(TRUE)
  }
  if (length(a) != length(b)) return(FALSE)
  if (is.list(a) || is.list(b)) {
    for (i in seq_along(b)) if (!.__codebabel_eq(a[[i]], b[[i]])) return(FALSE)
    return(TRUE)
  }
  if (anyNA(a)) return(FALSE)
  if (is.numeric(b)) return(is.numeric(a) && all(a == b | abs(a - b) <= @FLOAT_TOLERANCE@))
  if (is.character(b)) return(is.character(a) && all(a == b))
  if (is.logical(b)) return(is.logical(a) && all(a == b))
  identical(a, b)
}
.__codebabel_check <- function(i, actual, expected) {
  if (!isTRUE(.__codebabel_eq(actual, expected))) {
    cat("@ASSERT_MARKER@ test ", i, "\n", sep = "", file = stderr())
    quit(save = "no", status = 1)
  }
}
