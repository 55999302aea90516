#!/usr/bin/env bash
# Runs Weightless locally: Azurite (data on disk under $DATA_DIR) and the dev host serving all four
# Function apps on http://127.0.0.1:$PORT. Ctrl+C stops everything it started; a second start reuses the data.
set -euo pipefail
source "$(dirname "$0")/scripts/common.sh"

PORT="${PORT:-7071}"
DATA_DIR="${DATA_DIR:-$ROOT/.data}"
AZURITE_BLOB_PORT="${AZURITE_BLOB_PORT:-10000}"
AZURITE_QUEUE_PORT="${AZURITE_QUEUE_PORT:-10001}"
AZURITE_TABLE_PORT="${AZURITE_TABLE_PORT:-10002}"
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"

if [ -n "${WEIGHTLESS_ADMIN_KEY:-}" ] && ! [[ "$WEIGHTLESS_ADMIN_KEY" =~ ^[A-Za-z0-9_]{40,}$ ]]; then
  log "WEIGHTLESS_ADMIN_KEY must be at least 40 characters of A-Z, a-z, 0-9 and _."; exit 2
fi

source "$ROOT/scripts/dashboard.sh"

require_tools
install_npm_packages
build_dashboard
log "Building the dev host..."
dotnet build "$ROOT/functions/devhost/Weightless.DevHost.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null \
  || dotnet build "$ROOT/functions/devhost/Weightless.DevHost.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly
OUT="$ROOT/functions/devhost/bin/Release/net10.0"

AZURITE_PID=""; HOST_PID=""
cleanup() {
  trap - INT TERM EXIT
  stop_pid "$HOST_PID"; stop_pid "$AZURITE_PID"
  log "Stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Azurite keeps every table entity in memory even with --location; Node's default heap limit
# (about 4 GB) ends it silently once a few million history entities are stored.
export NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=12288}"
# WEIGHTLESS_AZURITE_IN_MEMORY=1 keeps nothing on disk: for benchmarks, since disk-backed Azurite
# re-serialises its whole database every 5 s, which costs more the more is stored.
if [ "${WEIGHTLESS_AZURITE_IN_MEMORY:-0}" = "1" ]; then AZURITE_PERSISTENCE=(--inMemoryPersistence); else AZURITE_PERSISTENCE=(--location "$DATA_DIR/azurite"); fi
AZURITE_LOG="$DATA_DIR/azurite.log" start_azurite "$AZURITE_BLOB_PORT" "$AZURITE_QUEUE_PORT" "$AZURITE_TABLE_PORT" "${AZURITE_PERSISTENCE[@]}"
STORAGE="$(connection_string "$AZURITE_BLOB_PORT" "$AZURITE_QUEUE_PORT" "$AZURITE_TABLE_PORT")"

KEY_FILE="$DATA_DIR/admin.key"
if [ -n "${WEIGHTLESS_ADMIN_KEY:-}" ]; then export Admin__ApiKey="$WEIGHTLESS_ADMIN_KEY"; else export Admin__KeyFile="$KEY_FILE"; fi
export Storage__ConnectionString="$STORAGE"
export Auth__DevKeyPath="$DATA_DIR/dev-signing-key.pem"
export EventGrid__TopicEndpoint="${EventGrid__TopicEndpoint:-http://127.0.0.1:$PORT/local-eventgrid/weightless/api/events}"
export EventGrid__TopicKey="${EventGrid__TopicKey:-local}"

(cd "$OUT" && exec dotnet Weightless.DevHost.dll --urls "http://127.0.0.1:$PORT" --contentRoot "$OUT") &
HOST_PID=$!

deadline=$((SECONDS + 90))
until curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1; do
  if ! kill -0 "$HOST_PID" 2>/dev/null; then log "The dev host exited during start-up."; exit 1; fi
  if [ $SECONDS -ge $deadline ]; then log "The dev host did not become healthy within 90 s."; exit 1; fi
  sleep 0.5
done

ADMIN_KEY="${WEIGHTLESS_ADMIN_KEY:-$(cat "$KEY_FILE")}"
echo "Weightless is up at http://127.0.0.1:$PORT"
echo "Admin API key: $ADMIN_KEY"
echo "  export WANDB_BASE_URL=http://127.0.0.1:$PORT WANDB_API_KEY=$ADMIN_KEY"
echo "Data: $DATA_DIR    (Ctrl+C stops)"
# Whichever of the two ends first ends the other: a dev host without its storage only answers errors.
wait -n "$HOST_PID" "$AZURITE_PID" || true
if ! kill -0 "$AZURITE_PID" 2>/dev/null; then log "Azurite exited (see $DATA_DIR/azurite.log); stopping."; exit 1; fi
log "The dev host exited; stopping."
