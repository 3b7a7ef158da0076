#!/usr/bin/env bash
# Set up (once) and run creatorbot: the real bot when a token is configured, else the offline demo.
#   scripts/start.sh                    # demo, or run with CREATORBOT_TOKEN / config.toml
#   scripts/start.sh --config my.toml   # run with that config
#   scripts/start.sh --serve [--port N] # the demo, then a chat page and the dashboard in the browser
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/creatorbot ] || bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
if [ "${1:-}" = "--serve" ]; then
  exec .venv/bin/creatorbot demo --db demo-out/demo.db "$@"
fi
config=()
if [ "${1:-}" = "--config" ]; then config=(--config "$2"); elif [ -f config.toml ]; then config=(--config config.toml); fi
if [ -n "${CREATORBOT_TOKEN:-}" ] || { [ ${#config[@]} -gt 0 ] && grep -Eq '^\s*token\s*=\s*"[^"]+"' "${config[1]}"; }; then
  exec .venv/bin/creatorbot "${config[@]}" run
fi
echo "No bot token configured: running the offline demo (see README to run for real)." >&2
exec .venv/bin/creatorbot demo --db demo-out/demo.db
