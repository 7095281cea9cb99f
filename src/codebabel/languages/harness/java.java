// A fragment of every Java test harness codebabel writes (languages/java.py), kept here as real
// Java code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __codebabelEq and __codebabelCheck, members of class Problem before main.
// pair: org.javatuples.Pair's API, declared after class Problem (javatuples is not installed).

// codebabel-part: helpers
    static boolean __codebabelEq(Object a, Object b) {
        if (a instanceof Number && b instanceof Number) {
            if (a instanceof Double || a instanceof Float || b instanceof Double || b instanceof Float) {
                double x = ((Number) a).doubleValue(), y = ((Number) b).doubleValue();
                return x == y || Math.abs(x - y) < @FLOAT_TOLERANCE@;
            }
            return ((Number) a).longValue() == ((Number) b).longValue();
        }
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a, y = (List<?>) b;
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!__codebabelEq(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a, y = (Map<?, ?>) b;
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> e : y.entrySet()) {
                if (!x.containsKey(e.getKey()) || !__codebabelEq(x.get(e.getKey()), e.getValue())) return false;
            }
            return true;
        }
        if (a instanceof Optional && b instanceof Optional) {
            Optional<?> x = (Optional<?>) a, y = (Optional<?>) b;
            return x.isPresent() == y.isPresent() && (!x.isPresent() || __codebabelEq(x.get(), y.get()));
        }
        if (a instanceof Pair && b instanceof Pair) {
            Pair<?, ?> x = (Pair<?, ?>) a, y = (Pair<?, ?>) b;
            return __codebabelEq(x.getValue0(), y.getValue0()) && __codebabelEq(x.getValue1(), y.getValue1());
        }
        return Objects.equals(a, b);
    }
    static void __codebabelCheck(boolean ok, int test) {
        if (!ok) {
            System.err.println("@ASSERT_MARKER@ test " + test);
            System.exit(1);
        }
    }

// codebabel-part: pair
final class Pair<A, B> implements Comparable<Pair<A, B>> {
    private final A value0;
    private final B value1;
    public Pair(A value0, B value1) { this.value0 = value0; this.value1 = value1; }
    public static <A, B> Pair<A, B> with(A value0, B value1) { return new Pair<A, B>(value0, value1); }
    public A getValue0() { return value0; }
    public B getValue1() { return value1; }
    public Object getValue(int pos) {
        if (pos == 0) return value0;
        if (pos == 1) return value1;
        throw new IllegalArgumentException("Cannot retrieve position " + pos + " in Pair. Positions are 0 to 1");
    }
    public int getSize() { return 2; }
    public <X> Pair<X, B> setAt0(X value) { return new Pair<X, B>(value, value1); }
    public <X> Pair<A, X> setAt1(X value) { return new Pair<A, X>(value0, value); }
    public List<Object> toList() { return Arrays.asList(value0, value1); }
    @Override public boolean equals(Object o) {
        if (!(o instanceof Pair)) return false;
        Pair<?, ?> p = (Pair<?, ?>) o;
        return Objects.equals(value0, p.value0) && Objects.equals(value1, p.value1);
    }
    @Override public int hashCode() { return Objects.hash(value0, value1); }
    @Override public String toString() { return "[" + value0 + ", " + value1 + "]"; }
    @SuppressWarnings("unchecked")
    @Override public int compareTo(Pair<A, B> o) {
        int c = ((Comparable<Object>) value0).compareTo(o.value0);
        return c != 0 ? c : ((Comparable<Object>) value1).compareTo(o.value1);
    }
}
