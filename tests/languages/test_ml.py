"""OCaml: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.benchmarks import load_benchmark
from codebabel.execute.status import Status
from codebabel.languages import get_language
from codebabel.languages.ocaml import _doc_comment
from codebabel.languages.types import FLOAT, INT, STR, dict_of, list_of, optional, tuple_of, union
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """
  let rec go = function
    | [] -> false
    | x :: rest -> List.exists (fun y -> Float.abs (x -. y) < threshold) rest || go rest in
  go numbers
""",
    "HumanEval/2": "\n  number -. Float.of_int (truncate number)\n",
    "HumanEval/4": """
  let n = Float.of_int (List.length numbers) in
  let mean = List.fold_left ( +. ) 0.0 numbers /. n in
  List.fold_left (fun acc x -> acc +. Float.abs (x -. mean)) 0.0 numbers /. n
""",
    # a tuple
    "HumanEval/8": "\n  (List.fold_left ( + ) 0 numbers, List.fold_left ( * ) 1 numbers)\n",
    # an option
    "HumanEval/12": """
  List.fold_left (fun best s -> match best with
      | Some b when String.length b >= String.length s -> best
      | _ -> Some s) None strings
""",
    # a tuple of floats, compared within tolerance
    "HumanEval/20": """
  let sorted = List.sort compare numbers in
  let rec go best = function
    | a :: (b :: _ as rest) ->
      let best = match best with Some (x, y) when y -. x <= b -. a -> best | _ -> Some (a, b) in
      go best rest
    | _ -> best in
  match go None sorted with Some p -> p | None -> (0.0, 0.0)
""",
    # Any: the value variant
    "HumanEval/22": "\n  List.filter_map (function Int i -> Some i | _ -> None) values\n",
    "HumanEval/23": "\n  String.length string\n",
    "HumanEval/29": """
  let n = String.length prefix in
  List.filter (fun s -> String.length s >= n && String.sub s 0 n = prefix) strings
""",
    "HumanEval/34": "\n  List.sort_uniq compare l\n",
    "HumanEval/53": "\n  x + y\n",
    # an association list with union keys
    "HumanEval/95": """
  let keys = List.map fst dict in
  let strs = List.filter_map (function String s -> Some s | _ -> None) keys in
  keys <> [] && List.length strs = List.length keys
  && (List.for_all (fun s -> s = String.lowercase_ascii s) strs
      || List.for_all (fun s -> s = String.uppercase_ascii s) strs)
""",
    # a union return
    "HumanEval/103": """
  if n > m then Int (-1)
  else begin
    let q = (n + m) / 2 in
    let avg = if (n + m) mod 2 = 1 && q mod 2 = 1 then q + 1 else q in  (* Python rounds half to even *)
    let rec bin k = if k = 0 then "" else bin (k / 2) ^ string_of_int (k mod 2) in
    String ("0b" ^ (if avg = 0 then "0" else bin avg))
  end
""",
    # an association list in any order
    "HumanEval/111": """
  let words = List.filter (fun w -> w <> "") (String.split_on_char ' ' test) in
  let counts = List.fold_left (fun acc w ->
      let c = try List.assoc w acc with Not_found -> 0 in
      (w, c + 1) :: List.remove_assoc w acc) [] words in
  let most = List.fold_left (fun m (_, c) -> max m c) 0 counts in
  List.filter (fun (_, c) -> c = most) counts
""",
    # a tuple of options
    "HumanEval/136": """
  let neg = List.filter (fun x -> x < 0) lst and pos = List.filter (fun x -> x > 0) lst in
  let pick f = function [] -> None | x :: xs -> Some (List.fold_left f x xs) in
  (pick max neg, pick min pos)
""",
    # union arguments and an optional union return
    "HumanEval/137": """
  let num = function
    | Int i -> Float.of_int i
    | Float f -> f
    | String s -> float_of_string (String.map (fun c -> if c = ',' then '.' else c) s) in
  let x = num a and y = num b in
  if x = y then None
  else
    let big = if x > y then a else b in
    Some (match big with Int i -> Float (Float.of_int i) | v -> v)
""",
}

WRONG = {
    "HumanEval/23": ("\n  String.length string + 1\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("\n  x +\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("\n  number + 1\n", Status.TYPE_ERROR),
    "HumanEval/29": ("\n  List.filter (starts_with prefix) strings\n", Status.COMPILE_ERROR),  # unbound value
    "HumanEval/34": ("\n  [List.hd (List.filter (fun x -> x > 1000000) l)]\n", Status.RUNTIME_ERROR),
    "HumanEval/4": ("\n  let rec loop x = loop (x +. 1.0) in loop 0.0\n", Status.TIMEOUT),
    "HumanEval/12": ("\n  exit 0\n", Status.RUNTIME_ERROR),  # early exit is not a pass
    "HumanEval/0": ("\n  Array.length (Array.make (1 lsl 40) 0.0) > 0\n", Status.MEMORY_LIMIT),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("ml", SOLUTIONS, WRONG)


def test_types_and_literals_follow_multipl_e():
    ml = get_language("ocaml")
    assert ml.type_name(list_of(tuple_of(INT, STR))) == "(int * string) list"
    assert ml.type_name(dict_of(STR, INT)) == "(string * int) list"
    assert ml.type_name(optional(FLOAT)) == "float option"
    assert ml.literal([1, -2], list_of(FLOAT)) == "[1.0; (-2.0)]"
    assert ml.literal({"a": None}, dict_of(STR, optional(INT))) == '[("a", None)]'
    assert ml.literal((-1, 'q"\n'), tuple_of(INT, STR)) == '((-1), "q\\"\\n")'
    # a union value keeps its own Python type where the union lists it, else the first member it fits
    assert ml.literal(1, union(FLOAT, STR, INT)) == "(Int 1)"
    assert ml.literal(1, union(FLOAT, STR)) == "(Float 1.0)"
    assert ml.call("f", ["1", "[]"]) == "f 1 []"


def test_prompts_are_valid_ocaml_headers():
    problems = {p.task_id: p for p in load_benchmark("humaneval", "ml")}
    assert problems["HumanEval/0"].prompt.endswith(
        "let rec has_close_elements (numbers : float list) (threshold : float) : bool =")
    assert "let rec strongest_Extension " in problems["HumanEval/153"].prompt  # values are lowercase
    assert problems["HumanEval/125"].prompt.startswith("type value =\n  | StringList of string list\n  | Int of int\n")
    # HumanEval/68's docstring opens with a stray quote, which would start a string inside the comment
    assert problems["HumanEval/68"].prompt.startswith("(** Given a list")


def test_docstrings_become_comments_that_lex():
    # OCaml lexes strings inside comments: an unbalanced quote would swallow the rest of the file, and a
    # nested comment bracket would end (or open) the comment early
    assert _doc_comment(['"Given x', "(*) don't *) {|s"]) == "(** Given x\n * ( * ) don't * ) { |s\n*)\n"
    # inside a string (which OCaml lexes in a comment too) nothing needs changing
    assert _doc_comment(['"a" "(*" *)']) == '(** "a" "(*" * )\n*)\n'
    assert _doc_comment(['f("a") == ""b"']) == '(** f("a") == ""b\n*)\n'
    assert _doc_comment([]) == ""
