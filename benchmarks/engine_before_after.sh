#!/bin/bash
# Interleaved runs of the validation rows: the compiled SHACL engine before its rework (the commit
# before 54388b0, checked out as a worktree at ../wt-before) and the current checkout, three rounds,
# each with its own data and the current virtual environment; then the current engine on the
# before checkout's graph files, so both engines judge the same shapes.
# Results: docs/benchmarks-shacl-engine.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=${BEFORE:-$(dirname "$HERE")/wt-before}
rows() { "$HERE/.venv/bin/python" -m benchmarks --only validation --encounters 2000 --baseline 30 "$@" | grep "^|"; }
for round in 1 2 3; do
  echo "== round $round before"
  (cd "$BEFORE" && PYTHONPATH="$BEFORE/service:$BEFORE" rows)
  echo "== round $round after"
  (cd "$HERE" && rows)
  echo "== round $round after, the before checkout's shapes"
  (cd "$HERE" && rows --data-root "$BEFORE")
done
