#!/usr/bin/env bash
# One entry point for people and CI: makes .venv on first use (or when pyproject.toml changes),
# installs ember with its backends editable, then runs what you asked for.
#   ./dev.sh train [ember train options]   train the MNIST model (progress bar, accuracy at the end)
#   ./dev.sh test  [paths] [pytest options] the whole test suite, or the paths given (OpenCL tests run with PoCL)
#   ./dev.sh bench [--quick]               benchmarks -> docs/performance.md
#   ./dev.sh <command...>                  run a command inside the venv (e.g. ./dev.sh ember devices)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${EMBER_VENV:-.venv}"
STAMP="$VENV/.ember-installed"

needs_install() {
  [ ! -x "$VENV/bin/python" ] || [ ! -f "$STAMP" ] && return 0
  for f in dev.sh pyproject.toml backends/*/pyproject.toml conformance/pyproject.toml; do
    [ "$f" -nt "$STAMP" ] && return 0
  done
  return 1
}

if needs_install; then
  echo "dev.sh: installing ember into $VENV (first run only)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # [opencl] pulls pyopencl (it imports without a runtime; OpenCL tests skip without one).
  # The CUDA backend registers without CuPy, so its registration tests run everywhere.
  # ember requires its in-repo packages by version (ember-cpu-numpy>=0.1,<0.2, ...), as published;
  # naming them editable in the same pip call makes pip take them from this tree, not from an index.
  "$VENV/bin/python" -m pip install -q -e backends/cpu_numpy -e backends/opencl -e backends/cuda_cupy \
    -e conformance -e ".[opencl,dev]"
  # The parity layer (tests/parity) compares with real PyTorch: a test-only dependency, the CPU
  # build pinned (a range would pull a CUDA build of several GB). Without it that layer skips.
  # torchvision (the release built for that torch) is the reference for ember.vision's models and ops.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0" \
    || echo "dev.sh: torch==2.13.0 could not be installed; tests/parity will skip" >&2
  "$VENV/bin/python" -m pip install -q "torchvision==0.28.0" \
    || echo "dev.sh: torchvision==0.28.0 could not be installed; its parity rows will skip" >&2
  touch "$STAMP"
fi

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  train) exec "$VENV/bin/ember" train "$@" ;;
  test)  # paths given (./dev.sh test tests/parity -x) replace the default "tests"
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then exec "$VENV/bin/python" -m pytest -n 2 "$@"; fi
    exec "$VENV/bin/python" -m pytest -n 2 tests "$@" ;;
  bench) exec "$VENV/bin/python" -m bench "$@" ;;
  "") echo "usage: ./dev.sh train|test|bench|<command>" >&2; exit 2 ;;
  *) PATH="$VENV/bin:$PATH" exec "$cmd" "$@" ;;
esac
