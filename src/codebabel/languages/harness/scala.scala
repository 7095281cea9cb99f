// A fragment of every Scala test harness codebabel writes (languages/scala.py), kept here as real
// Scala code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __codebabelEq and __codebabelCheck, members of object Problem before main. ``Seq`` and ``Map``
// name the mutable collections under MultiPL-E's import: the helper names the general ones. Written with
// isInstanceOf and loops, not pattern matching and closures: scalac compiles it several times faster.

// codebabel-part: helpers
    def __codebabelEq(a : Any, b : Any) : Boolean = {
        if (a.isInstanceOf[java.lang.Number] && b.isInstanceOf[java.lang.Number]) {
            val x = a.asInstanceOf[java.lang.Number]
            val y = b.asInstanceOf[java.lang.Number]
            if (x.isInstanceOf[java.lang.Double] || x.isInstanceOf[java.lang.Float]
                || y.isInstanceOf[java.lang.Double] || y.isInstanceOf[java.lang.Float]) {
                val p = x.doubleValue
                val q = y.doubleValue
                p == q || java.lang.Math.abs(p - q) < @FLOAT_TOLERANCE@
            } else x.longValue == y.longValue
        } else if (a.isInstanceOf[scala.collection.Seq[_]] && b.isInstanceOf[scala.collection.Seq[_]]) {
            val x = a.asInstanceOf[scala.collection.Seq[Any]]
            val y = b.asInstanceOf[scala.collection.Seq[Any]]
            var ok = x.length == y.length
            val i = x.iterator
            val j = y.iterator
            while (ok && i.hasNext) ok = __codebabelEq(i.next, j.next)
            ok
        } else if (a.isInstanceOf[scala.collection.Map[_, _]] && b.isInstanceOf[scala.collection.Map[_, _]]) {
            val x = a.asInstanceOf[scala.collection.Map[Any, Any]]
            val y = b.asInstanceOf[scala.collection.Map[Any, Any]]
            var ok = x.size == y.size
            val i = y.iterator
            while (ok && i.hasNext) {
                val kv = i.next
                ok = x.contains(kv._1) && __codebabelEq(x(kv._1), kv._2)
            }
            ok
        } else if (a.isInstanceOf[Option[_]] && b.isInstanceOf[Option[_]]) {
            val x = a.asInstanceOf[Option[Any]]
            val y = b.asInstanceOf[Option[Any]]
            x.isDefined == y.isDefined && (x.isEmpty || __codebabelEq(x.get, y.get))
        } else if (a.isInstanceOf[Product] && b.isInstanceOf[Product] && a.getClass.getName.startsWith("scala.Tuple")) {
            val x = a.asInstanceOf[Product]
            val y = b.asInstanceOf[Product]
            var ok = x.getClass == y.getClass
            var k = 0
            while (ok && k < x.productArity) {
                ok = __codebabelEq(x.productElement(k), y.productElement(k))
                k += 1
            }
            ok
        } else a == b
    }
    def __codebabelCheck(ok : Boolean, test : Int) : Unit = {
        if (!ok) {
            System.err.println("@ASSERT_MARKER@ test " + test)
            System.exit(1)
        }
    }
