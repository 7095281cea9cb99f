(* A fragment of every OCaml test harness codebabel writes (languages/ocaml.py), kept here as real OCaml
   code. languages/render.py's harness_code reads it: each part runs from its `codebabel-part: NAME` line
   to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become languages/base.py's ASSERT_MARKER and
   FLOAT_TOLERANCE. *)
(* prelude: the equalities (floats within the tolerance, lists, options, association lists as sets) and
   printers the generated __codebabel_eq and __codebabel_show of the return type are made of. *)

(* codebabel-part: prelude *)
;;
let __codebabel_feq (a : float) (b : float) : bool = a = b || Float.abs (a -. b) < @FLOAT_TOLERANCE@
let __codebabel_leq eq a b = List.length a = List.length b && List.for_all2 eq a b
let __codebabel_oeq eq a b = match a, b with Some x, Some y -> eq x y | None, None -> true | _ -> false
let __codebabel_deq eq a b = __codebabel_leq eq (List.sort Stdlib.compare a) (List.sort Stdlib.compare b)
let __codebabel_lshow show l = "[" ^ String.concat "; " (List.map show l) ^ "]"
let __codebabel_oshow show = function None -> "None" | Some x -> "Some (" ^ show x ^ ")"
