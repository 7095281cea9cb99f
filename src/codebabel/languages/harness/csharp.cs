// A fragment of every C# test harness codebabel writes (languages/csharp.py), kept here as real
// C# code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __CbEq (numbers by value, doubles within the tolerance, dictionaries, tuples and sequences element
// by element) and __CbCheck, members of class Problem before Main.

// codebabel-part: helpers
    static bool __CbNum(object x) {
        return x is long || x is int || x is short || x is sbyte || x is byte || x is ulong || x is uint
            || x is ushort || x is double || x is float || x is decimal;
    }
    static bool __CbEq(object a, object b) {
        if (a == null || b == null) return a == null && b == null;
        if (__CbNum(a) && __CbNum(b)) {
            if (a is double || a is float || b is double || b is float) {
                double x = Convert.ToDouble(a), y = Convert.ToDouble(b);
                return x == y || Math.Abs(x - y) < @FLOAT_TOLERANCE@;
            }
            return Convert.ToDecimal(a) == Convert.ToDecimal(b);
        }
        if (a is string || b is string || a is bool || b is bool || a is char || b is char) return a.Equals(b);
        var da = a as System.Collections.IDictionary;
        var db = b as System.Collections.IDictionary;
        if (da != null || db != null) {
            if (da == null || db == null || da.Count != db.Count) return false;
            foreach (System.Collections.DictionaryEntry e in da) {
                if (!db.Contains(e.Key) || !__CbEq(e.Value, db[e.Key])) return false;
            }
            return true;
        }
        var ta = a as System.Runtime.CompilerServices.ITuple;
        var tb = b as System.Runtime.CompilerServices.ITuple;
        if (ta != null || tb != null) {
            if (ta == null || tb == null || ta.Length != tb.Length) return false;
            for (int i = 0; i < ta.Length; i++) if (!__CbEq(ta[i], tb[i])) return false;
            return true;
        }
        var la = a as System.Collections.IEnumerable;
        var lb = b as System.Collections.IEnumerable;
        if (la != null || lb != null) {
            if (la == null || lb == null) return false;
            var ea = la.GetEnumerator();
            var eb = lb.GetEnumerator();
            while (true) {
                bool ma = ea.MoveNext(), mb = eb.MoveNext();
                if (ma != mb) return false;
                if (!ma) return true;
                if (!__CbEq(ea.Current, eb.Current)) return false;
            }
        }
        return a.Equals(b);
    }
    static void __CbCheck(bool ok, int i) {
        if (!ok) {
            Console.Error.WriteLine("@ASSERT_MARKER@ test " + i);
            Environment.Exit(1);
        }
    }
