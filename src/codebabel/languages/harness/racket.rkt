;; A fragment of every Racket test harness codebabel writes (languages/racket.py), kept here as real
;; Racket code. languages/render.py's harness_code reads it: each part runs from its
;; `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
;; languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
;; helpers: __codebabel-eq (reals within the tolerance, pairs, vectors, hashes) and __codebabel-check.

;; codebabel-part: helpers
(define (__codebabel-eq a b)
  (cond [(and (real? a) (real? b)) (or (= a b) (< (abs (- a b)) @FLOAT_TOLERANCE@))]
        [(and (pair? a) (pair? b))
         (and (__codebabel-eq (car a) (car b)) (__codebabel-eq (cdr a) (cdr b)))]
        [(and (vector? a) (vector? b)) (__codebabel-eq (vector->list a) (vector->list b))]
        [(and (hash? a) (hash? b))
         (and (= (hash-count a) (hash-count b))
              (for/and ([(k v) (in-hash a)])
                (and (hash-has-key? b k) (__codebabel-eq v (hash-ref b k)))))]
        [else (equal? a b)]))
(define (__codebabel-check i actual expected)
  (unless (__codebabel-eq actual expected)
    (eprintf "@ASSERT_MARKER@ test ~a: got ~s, expected ~s\n" i actual expected)
    (exit 1)))
