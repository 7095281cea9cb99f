# A fragment of every Ruby test harness codebabel writes (languages/ruby.py), kept here as real
# Ruby code. languages/render.py's harness_code reads it: each part runs from its
# `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
# languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
# helpers: __codebabel_eq (numbers within the tolerance, arrays, hashes) and __codebabel_check.

# codebabel-part: helpers
def __codebabel_eq(a, b)
  if a.is_a?(Numeric) && b.is_a?(Numeric)
    a == b || (a - b).abs < @FLOAT_TOLERANCE@
  elsif a.is_a?(Array) && b.is_a?(Array)
    a.length == b.length && a.each_index.all? { |i| __codebabel_eq(a[i], b[i]) }
  elsif a.is_a?(Hash) && b.is_a?(Hash)
    a.length == b.length && a.all? { |k, v| b.key?(k) && __codebabel_eq(v, b[k]) }
  else
    a == b
  end
end

def __codebabel_check(i, got, expected)
  return if __codebabel_eq(got, expected)
  $stderr.puts("@ASSERT_MARKER@ test " + i.to_s + ": got " + got.inspect + ", expected " + expected.inspect)
  Kernel.exit!(1)
end
