"""Scala: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from tests.langkit import check_solutions, problems_by_id

SOLUTIONS = {
    "HumanEval/0": "        numbers.combinations(2).exists(p => abs(p(0) - p(1)) < threshold)",
    "HumanEval/2": "        number % 1.0",
    "HumanEval/4": """        val mean = numbers.sum / numbers.length
        numbers.map(x => abs(x - mean)).sum / numbers.length""",
    "HumanEval/8": "        (numbers.sum, numbers.product)",
    "HumanEval/12": """        if (strings.isEmpty) None
        else Some(strings.reduceLeft((a, b) => if (b.length > a.length) b else a))""",
    "HumanEval/22": "        values.collect { case x : Long => x }",
    "HumanEval/34": "        l.distinct.sorted",
    "HumanEval/87": """        for ((row, i) <- lst.zipWithIndex; j <- row.indices.reverse if row(j) == x)
            yield (i.toLong, j.toLong)""",
    "HumanEval/95": """        val keys = dict.keys.toList
        if (keys.isEmpty || !keys.forall(_.isInstanceOf[String])) return false
        val ks = keys.map(_.asInstanceOf[String])
        ks.forall(k => k == k.toLowerCase) || ks.forall(k => k == k.toUpperCase)""",
    "HumanEval/103": """        if (m < n) return -1L
        val s = n + m
        var r = s / 2
        if (s % 2 != 0 && r % 2 != 0) r += 1  // Python's round: half to even
        "0b" + java.lang.Long.toBinaryString(r)""",
    "HumanEval/111": """        val counts = Map[String, Long]()
        for (w <- test.split(" ") if w.nonEmpty) counts(w) = counts.getOrElse(w, 0L) + 1L
        if (counts.isEmpty) return counts
        val most = counts.values.max
        counts.filter(_._2 == most)""",
    "HumanEval/136": """        val neg = lst.filter(_ < 0)
        val pos = lst.filter(_ > 0)
        (if (neg.isEmpty) None else Some(neg.max), if (pos.isEmpty) None else Some(pos.min))""",
    "HumanEval/137": """        def num(v : Any) : Double = v match {
            case s : String => s.replace(',', '.').toDouble
            case n : Long => n.toDouble
            case d : Double => d
        }
        if (num(a) == num(b)) None else if (num(a) > num(b)) Some(a) else Some(b)""",
    "HumanEval/162": """        if (text.isEmpty) None
        else Some(java.security.MessageDigest.getInstance("MD5").digest(text.getBytes("UTF-8"))
            .map("%02x".format(_)).mkString)""",
}

WRONG = {
    "HumanEval/23": ("        string.length + 1", Status.ASSERTION_FAILED),
    "HumanEval/53": ("        (x + y", Status.SYNTAX_ERROR),
    "HumanEval/29": ('        "nope"', Status.TYPE_ERROR),
    "HumanEval/2": ("        nope(number)", Status.COMPILE_ERROR),  # not found: value nope
    "HumanEval/34": ("        List(l(1000))", Status.RUNTIME_ERROR),
    "HumanEval/8": ("        while (true) {}\n        (0L, 0L)", Status.TIMEOUT),
    "HumanEval/12": ("        System.exit(0)\n        None", Status.RUNTIME_ERROR),
    # 16 GB at once: more than the heap (the configured memory), refused before any of it is touched
    "HumanEval/4": ("        val a = new Array[Long](2000000000)\n        a.length", Status.MEMORY_LIMIT),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("scala", SOLUTIONS, WRONG)


def test_prompt_follows_multipl_e():
    p = problems_by_id("scala")["HumanEval/0"]
    assert p.prompt.startswith("import scala.math._\nimport scala.collection.mutable._\nobject Problem {\n")
    assert p.prompt.endswith("    def hasCloseElements(numbers : List[Double], threshold : Double) : Boolean = {\n")
    assert "hasCloseElements(List[Double](1.0, 2.0, 3.0), 0.5)" in p.prompt
    assert p.entry_point == "hasCloseElements"
    assert p.tests.startswith("    }\n")


def test_literals():
    from codebabel.languages.types import FLOAT, INT, STR, dict_of, list_of, optional, tuple_of

    scala = get_language("scala")
    assert scala.literal(3, FLOAT) == "3.0"
    assert scala.literal([], list_of(INT)) == "List[Long]()"
    assert scala.literal({"a": 1}, dict_of(STR, INT)) == 'Map[String,Long]("a" -> 1L)'
    assert scala.literal((1, None), tuple_of(INT, optional(STR))) == "(1L, None)"
