#!/usr/bin/env bash
# Build the portable llama-cpp-python wheel the whole fleet installs: one per architecture, never -march=native.
#
#   scripts/build-llama-wheel.sh [OUT_DIR]
#
# Prints the wheel's path on stdout. The wheel carries every CPU variant llama.cpp knows for the architecture
# (x86-64: x64, sse42, ..., haswell, skylakex, icelake, zen4, alderlake, sapphirerapids; arm64: armv8.0 ... armv9.2)
# as separate libggml-cpu-*.so modules next to libllama.so. models/llama_backend.py loads one of them at run time:
# the best the CPU supports that the self-test has not seen crash (the AMX variant crashes on some Xeons).
# The result depends only on the pinned sdist and the flags below, so OUT_DIR is keyed by both and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The one place the llama-cpp-python version is chosen; requirements.lock pins the sdist's sha256.
VERSION=$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' requirements.lock)
SHA256=$(grep -A3 "^llama-cpp-python==" requirements.lock | sed -n 's/.*--hash=sha256:\([0-9a-f]*\).*/\1/p' | head -1)
CMAKE_FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DCMAKE_INSTALL_BINDIR=llama_cpp/lib \
-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
# GPU boxes: LLAMA_WHEEL_CUDA=1 adds the CUDA backend (needs nvcc); the CPU variants stay for the rest.
# LLAMA_WHEEL_NATIVE=1 builds the reference bench/ai_speed.py compares with: -march=native, one backend linked in.
# It runs only on the CPU that built it (and crashes on this Xeon's AMX): never install it on a box.
if [ "${LLAMA_WHEEL_NATIVE:-0}" = 1 ]; then
  CMAKE_FLAGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
  NATIVE_CPU=$(grep -m1 '^flags' /proc/cpuinfo || true)
elif [ "${LLAMA_WHEEL_CUDA:-0}" = 1 ]; then
  CMAKE_FLAGS="$CMAKE_FLAGS -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS:-75;80;86;89;90}"
fi
KEY=$(printf '%s %s %s %s' "$VERSION" "$SHA256" "$CMAKE_FLAGS" "$(uname -m)${NATIVE_CPU:+ $NATIVE_CPU}" \
  | sha256sum | cut -c1-16)
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-box/wheels/$KEY}

if [ -z "$VERSION" ] || [ -z "$SHA256" ]; then
  echo "build-llama-wheel: llama-cpp-python is not pinned with a hash in requirements.lock" >&2; exit 1
fi
existing=$(ls "$OUT"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -1 || true)
if [ -n "$existing" ]; then echo "$existing"; exit 0; fi

command -v cc >/dev/null && command -v c++ >/dev/null || {
  echo "build-llama-wheel: a C/C++ compiler is missing: apt-get install build-essential" >&2; exit 1; }
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-llama-wheel: building llama-cpp-python $VERSION with $CMAKE_FLAGS (5-20 min on 2 cores)" >&2
# The sdist is checked against the lock's hash before anything is compiled.
printf 'llama-cpp-python==%s --hash=sha256:%s\n' "$VERSION" "$SHA256" > "$work/req.txt"
"$PYTHON" -m pip download -q --no-deps --no-binary :all: --require-hashes -r "$work/req.txt" -d "$work/sdist" >&2
CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  "$PYTHON" -m pip wheel -q --no-deps --no-cache-dir -w "$work/wheel" "$work"/sdist/*.tar.gz >&2
whl=$(ls "$work"/wheel/*.whl)
# A wheel without its CPU variants would load no backend at all: refuse it here rather than on a box.
if [ "${LLAMA_WHEEL_NATIVE:-0}" != 1 ]; then
  "$PYTHON" -m zipfile -l "$whl" | grep -q 'llama_cpp/lib/libggml-cpu-' || {
    echo "build-llama-wheel: the wheel has no libggml-cpu-* variants" >&2; exit 1; }
fi
mv "$whl" "$OUT/"
echo "$OUT/$(basename "$whl")"
