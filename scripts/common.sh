# Shared by run.sh and test.sh: install what the project needs, start and stop Azurite.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURITE="$ROOT/node_modules/.bin/azurite"
# Azurite's well-known development account (public, documented; not a secret).
AZURITE_ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

log() { printf '[weightless] %s\n' "$*" >&2; }

require_tools() {
  if ! command -v dotnet >/dev/null 2>&1; then
    log "The .NET 10 SDK (dotnet) is required and was not found on PATH."; exit 1
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "Node.js and npm are missing; installing Debian's nodejs and npm."
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
}

# npm ci when node_modules is missing or older than package-lock.json (idempotent, no network otherwise).
install_npm_packages() {
  local stamp="$ROOT/node_modules/.weightless-lock"
  if [ ! -x "$AZURITE" ] || [ ! -f "$stamp" ] || ! cmp -s "$ROOT/package-lock.json" "$stamp"; then
    log "Installing npm packages (Azurite, @wandb/sdk) from package-lock.json..."
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) \
      || (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$ROOT/package-lock.json" "$stamp"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_for_port() { # port, seconds
  local port=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# start_azurite BLOB_PORT QUEUE_PORT TABLE_PORT [--location DIR | --inMemoryPersistence]; sets AZURITE_PID
start_azurite() {
  local blob=$1 queue=$2 table=$3; shift 3
  "$AZURITE" "$@" --skipApiVersionCheck --loose --silent --disableTelemetry \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$blob" --queuePort "$queue" --tablePort "$table" >>"${AZURITE_LOG:-/dev/null}" 2>&1 &
  AZURITE_PID=$!
  for p in "$blob" "$queue" "$table"; do
    if ! wait_for_port "$p" 60; then log "Azurite did not open port $p."; return 1; fi
  done
}

connection_string() { # blob queue table
  printf 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/devstoreaccount1;QueueEndpoint=http://127.0.0.1:%s/devstoreaccount1;TableEndpoint=http://127.0.0.1:%s/devstoreaccount1;' \
    "$AZURITE_ACCOUNT_KEY" "$1" "$2" "$3"
}

stop_pid() { # pid: SIGTERM, then SIGKILL after 5 s
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
