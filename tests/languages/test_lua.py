"""Lua: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """  for i = 1, #numbers do
    for j = i + 1, #numbers do
      if math.abs(numbers[i] - numbers[j]) < threshold then return true end
    end
  end
  return false
end
""",
    "HumanEval/2": "  return number % 1.0\nend\n",
    "HumanEval/4": """  local sum = 0
  for _, x in ipairs(numbers) do sum = sum + x end
  local mean = sum / #numbers
  local dev = 0
  for _, x in ipairs(numbers) do dev = dev + math.abs(x - mean) end
  return dev / #numbers
end
""",
    # tuple -> table
    "HumanEval/8": """  local s, p = 0, 1
  for _, x in ipairs(numbers) do s = s + x; p = p * x end
  return {s, p}
end
""",
    # optional return: nil for an empty table
    "HumanEval/12": """  local best = nil
  for _, s in ipairs(strings) do
    if best == nil or #s > #best then best = s end
  end
  return best
end
""",
    # the parameter `string` shadows the string library: method calls still work
    # list[any] argument: integers, floats, strings and tables in one table
    "HumanEval/22": """  local out = {}
  for _, v in ipairs(values) do
    if math.type(v) == "integer" then out[#out + 1] = v end
  end
  return out
end
""",
    "HumanEval/23": "  return string:len()\nend\n",
    "HumanEval/29": """  local out = {}
  for _, s in ipairs(strings) do
    if s:sub(1, #prefix) == prefix then out[#out + 1] = s end
  end
  return out
end
""",
    "HumanEval/34": """  local seen, out = {}, {}
  for _, x in ipairs(l) do
    if not seen[x] then seen[x] = true; out[#out + 1] = x end
  end
  table.sort(out)
  return out
end
""",
    "HumanEval/53": "  return x + y\nend\n",
    # dict -> table with string keys
    "HumanEval/111": """  local counts, most = {}, 0
  for w in test:gmatch("%S+") do
    counts[w] = (counts[w] or 0) + 1
    if counts[w] > most then most = counts[w] end
  end
  local out = {}
  for k, v in pairs(counts) do
    if v == most then out[k] = v end
  end
  return out
end
""",
    # a tuple holding None: {nil, 1} is the table {[2] = 1}
    "HumanEval/136": """  local neg, pos = nil, nil
  for _, x in ipairs(lst) do
    if x < 0 and (neg == nil or x > neg) then neg = x end
    if x > 0 and (pos == nil or x < pos) then pos = x end
  end
  return {neg, pos}
end
""",
    # a large integer (-9999999999999999 > 2^53) stays exact in Lua's 64-bit integers
    "HumanEval/114": """  local best, cur = nil, 0
  for _, x in ipairs(nums) do
    cur = math.min(cur + x, x)
    if best == nil or cur < best then best = cur end
  end
  return best
end
""",
}

WRONG = {
    "HumanEval/23": ("  return #string + 1\nend\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("  return x +\nend\n", Status.SYNTAX_ERROR),
    "HumanEval/2": ("  return number.nope()\nend\n", Status.RUNTIME_ERROR),
    "HumanEval/29": ("  goto nowhere\nend\n", Status.COMPILE_ERROR),  # luac: no visible label
    "HumanEval/34": ("  os.exit(0)\nend\n", Status.RUNTIME_ERROR),  # early exit is not a pass
    "HumanEval/12": ("  return \"\"\nend\n", Status.ASSERTION_FAILED),  # "" is not nil
    "HumanEval/8": ("  return {0, 1, 2}\nend\n", Status.ASSERTION_FAILED),  # an extra element
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("lua", SOLUTIONS, WRONG)
