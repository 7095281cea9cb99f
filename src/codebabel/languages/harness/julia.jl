# A fragment of every Julia test harness codebabel writes (languages/julia.py), kept here as real
# Julia code. languages/render.py's harness_code reads it: each part runs from its
# `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
# languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
# helpers: __codebabel_eq, one method per kind of value, and __codebabel_check.

# codebabel-part: helpers
__codebabel_eq(a, b) = isequal(a, b)
__codebabel_eq(a::Real, b::Real) = !(a isa Bool) && !(b isa Bool) &&
    (a == b || abs(Float64(a) - Float64(b)) <= @FLOAT_TOLERANCE@)
__codebabel_eq(a::Bool, b::Bool) = a == b
__codebabel_eq(a::AbstractString, b::AbstractString) = a == b
__codebabel_eq(a::AbstractVector, b::AbstractVector) =
    length(a) == length(b) && all(__codebabel_eq(x, y) for (x, y) in zip(a, b))
__codebabel_eq(a::Tuple, b::Tuple) =
    length(a) == length(b) && all(__codebabel_eq(x, y) for (x, y) in zip(a, b))
__codebabel_eq(a::AbstractDict, b::AbstractDict) =
    length(a) == length(b) && all(haskey(a, k) && __codebabel_eq(a[k], v) for (k, v) in b)
function __codebabel_check(i::Int, ok::Bool)
    if !ok
        println(stderr, "@ASSERT_MARKER@ test ", i)
        exit(1)
    end
end
