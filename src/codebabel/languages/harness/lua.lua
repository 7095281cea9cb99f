-- A fragment of every Lua test harness codebabel writes (languages/lua.py), kept here as real
-- Lua code. languages/render.py's harness_code reads it: each part runs from its
-- `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
-- languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
-- helpers: __codebabel_eq (numbers within the tolerance, tables by key) and __codebabel_check; _G. everywhere,
-- so a completion that shadows a global cannot break them.

-- codebabel-part: helpers
local function __codebabel_eq(a, b)
  local ta, tb = _G.type(a), _G.type(b)
  if ta == "number" and tb == "number" then
    return a == b or _G.math.abs(a - b) < @FLOAT_TOLERANCE@
  end
  if ta == "table" and tb == "table" then
    for k, v in _G.pairs(a) do
      if not __codebabel_eq(v, b[k]) then return false end
    end
    for k, _ in _G.pairs(b) do
      if a[k] == nil then return false end
    end
    return true
  end
  return a == b
end

local function __codebabel_check(i, got, expected)
  if not __codebabel_eq(got, expected) then
    _G.io.stderr:write("@ASSERT_MARKER@ test " .. _G.tostring(i) .. "\n")
    _G.os.exit(1)
  end
end
