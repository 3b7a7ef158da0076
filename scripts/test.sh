#!/usr/bin/env bash
# The project's test command: lint, types, import direction, fast and slow tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[ -x .venv/bin/pytest ] || bash scripts/setup.sh
PY=.venv/bin
status=0
step() { echo "== $*"; "$@" || status=1; }
step $PY/ruff check --output-format concise bot nlp recsys botapi_sandbox tests benchmarks
step $PY/mypy
step $PY/lint-imports --no-cache
# Fast and slow tests (slow ones load real models); PostgreSQL tests run when the server is up. Three
# processes share the two cores: most tests wait on sockets, the database and the bot's loops, not the CPU
# (CREATORBOT_TEST_WORKERS=0 runs them in this process; every worker has its own PostgreSQL database).
# The fault test restarts the PostgreSQL server, so it runs alone, after the others.
$PY/pytest -m "slow or not slow" -q -n "${CREATORBOT_TEST_WORKERS:-3}" --durations=15 \
    --ignore tests/runtime/test_faults.py "$@"
rc=$?
[ $rc -eq 5 ] && { echo "pytest collected no tests"; rc=1; }
[ $rc -ne 0 ] && status=1
if [ $# -eq 0 ]; then
    $PY/pytest -m "slow or not slow" -q -p no:xdist tests/runtime/test_faults.py
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 5 ] && status=1
fi
exit $status
