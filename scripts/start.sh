#!/usr/bin/env bash
# Set up (once) and run creatorbot: the real bot when a token (or a [[creators]] config) is configured,
# else the offline demo: one process serving two creators, Maya (a photographer) and Luca (a cook), each
# with a bot of their own on a local stand-in for the Telegram Bot API.
#   scripts/start.sh                    # the demo, or run with CREATORBOT_TOKEN / config.toml
#   scripts/start.sh --config my.toml   # run with that config (one creator, or many with [[creators]])
#   scripts/start.sh --serve [--port N] # the demo, then a chat page (pick a creator) and each creator's dashboard
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/creatorbot ] || bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
if [ "${1:-}" = "--serve" ]; then
  exec .venv/bin/creatorbot demo --db demo-out/demo.db "$@"
fi
config=()
if [ "${1:-}" = "--config" ]; then config=(--config "$2"); elif [ -f config.toml ]; then config=(--config config.toml); fi
# a token in the environment or the config, or [[creators]] tables (each names its own token variable)
if [ -n "${CREATORBOT_TOKEN:-}" ] || { [ ${#config[@]} -gt 0 ] && grep -Eq '^\s*(token\s*=\s*"[^"]+"|\[\[creators\]\])' "${config[1]}"; }; then
  .venv/bin/creatorbot "${config[@]}" prepare  # the one-time model exports (seconds; nothing once done)
  exec .venv/bin/creatorbot "${config[@]}" run
fi
echo "No bot token configured: running the offline demo, one process serving two creators (Maya, a" >&2
echo "photographer, and Luca, a cook), each with a bot of their own (see README to run for real)." >&2
exec .venv/bin/creatorbot demo --db demo-out/demo.db
