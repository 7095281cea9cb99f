"""Racket: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.types import ANY, INT
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """  (for*/or ([(a i) (in-indexed numbers)] [(b j) (in-indexed numbers)])
    (and (not (= i j)) (< (abs (- a b)) threshold))))
""",
    "HumanEval/2": "  (- number (floor number)))\n",
    "HumanEval/4": """  (define mean (/ (apply + numbers) (length numbers)))
  (/ (apply + (map (lambda (x) (abs (- x mean))) numbers)) (length numbers)))
""",
    # tuples are lists
    "HumanEval/8": "  (list (apply + numbers) (apply * numbers)))\n",
    # None is #f
    "HumanEval/12": """  (if (null? strings)
      #f
      (for/fold ([best (first strings)]) ([s (rest strings)])
        (if (> (string-length s) (string-length best)) s best))))
""",
    # floats within tolerance, returned as a list
    "HumanEval/20": """  (define s (sort numbers <))
  (for/fold ([best (list (first s) (second s))]) ([a s] [b (rest s)])
    (if (< (- b a) (- (second best) (first best))) (list a b) best)))
""",
    # values of any type
    "HumanEval/22": "  (filter exact-integer? values))\n",
    "HumanEval/23": "  (string-length string))\n",
    "HumanEval/29": "  (filter (lambda (s) (string-prefix? s prefix)) strings))\n",
    "HumanEval/34": "  (sort (remove-duplicates l) <))\n",
    "HumanEval/53": "  (+ x y))\n",
    # a hash argument with string and integer keys
    "HumanEval/95": """  (define ks (hash-keys dict))
  (and (pair? ks) (andmap string? ks)
       (or (andmap (lambda (k) (string=? k (string-downcase k))) ks)
           (andmap (lambda (k) (string=? k (string-upcase k))) ks))))
""",
    # a string or an integer
    "HumanEval/103": """  (if (> n m)
      -1
      (string-append "0b" (number->string (exact-round (/ (+ n m) 2)) 2))))
""",
    # a mutable hash compares equal to the expected immutable one
    "HumanEval/111": """  (define counts (make-hash))
  (for ([w (string-split test)]) (hash-update! counts w add1 0))
  (define most (apply max 0 (hash-values counts)))
  (for/hash ([(k v) (in-hash counts)] #:when (= v most)) (values k v)))
""",
    # a list of optionals
    "HumanEval/136": """  (define neg (filter negative? lst))
  (define pos (filter positive? lst))
  (list (if (null? neg) #f (apply max neg)) (if (null? pos) #f (apply min pos))))
""",
    "HumanEval/162": """  (if (string=? text "")
      #f
      (bytes->string/utf-8 ((dynamic-require 'file/md5 'md5) (string->bytes/utf-8 text)))))
""",
}

WRONG = {
    "HumanEval/23": ("  (+ 1 (string-length string)))\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  (+ x y)\n", Status.SYNTAX_ERROR),  # the define is never closed
    "HumanEval/29": ("  (filter (lambda (s) (string-prefix? s prefix)) strings)))\n", Status.SYNTAX_ERROR),
    "HumanEval/34": ("  (sort (remove-dups l) <))\n", Status.COMPILE_ERROR),  # unbound identifier
    "HumanEval/8": ("  (if))\n", Status.COMPILE_ERROR),  # bad syntax
    "HumanEval/2": ("  (car number))\n", Status.RUNTIME_ERROR),  # contract violation
    "HumanEval/4": ("  (let loop () (loop)))\n", Status.TIMEOUT),
    "HumanEval/12": ("  (exit 0))\n", Status.RUNTIME_ERROR),  # early exit is not a pass
    "HumanEval/0": ("  (make-vector 1000000000 0))\n", Status.MEMORY_LIMIT),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("rkt", SOLUTIONS, WRONG)


def test_literals_follow_multipl_e():
    rkt = get_language("racket")
    assert rkt.literal([1, 2.5, "a\"b\n"], ANY) == '(list 1 2.5 "a\\"b\\n")'
    assert rkt.literal({"a": [1], 5: None}, ANY) == '(hash "a" (list 1) 5 #f)'
    assert rkt.literal((1, True), ANY) == "(list 1 #t)"
    assert rkt.literal(-3, INT) == "-3"
    assert rkt.call("f", ["1", "(list)"]) == "(f 1 (list))"
