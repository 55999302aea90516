# The dashboard's build steps, sourced by run.sh and test.sh (after scripts/common.sh).
# shellcheck shell=bash

DASHBOARD_DIR="$ROOT/dashboard"

# npm ci when dashboard/node_modules is missing or older than its lock file, then `npm run build`
# (type-check + Vite) into dashboard/dist. Run it BEFORE `dotnet build`: the query project copies
# dashboard/dist into its wwwroot/ only when dist exists at MSBuild evaluation time.
build_dashboard() {
  local stamp="$DASHBOARD_DIR/node_modules/.weightless-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$DASHBOARD_DIR/package-lock.json" "$stamp"; then
    log "Installing the dashboard's npm packages from dashboard/package-lock.json..."
    (cd "$DASHBOARD_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$DASHBOARD_DIR/package-lock.json" "$stamp"
  fi
  log "Building the dashboard (dashboard/dist)..."
  (cd "$DASHBOARD_DIR" && npm run build --silent >/dev/null) || (cd "$DASHBOARD_DIR" && npm run build)
}

# The dashboard's own unit tests (Vitest); prints Vitest's summary and, given a path, writes its
# JSON report there so test.sh can count the results with the .NET ones.
test_dashboard_unit() {
  if [ -n "${1:-}" ]; then
    (cd "$DASHBOARD_DIR" && npx vitest run --reporter=default --reporter=json --outputFile="$1")
  else
    (cd "$DASHBOARD_DIR" && npm test --silent)
  fi
}

# Debian's chromium for the browser tests (tests/Weightless.Dashboard.Tests drive /usr/bin/chromium
# through Playwright's ExecutablePath; never `playwright install`).
install_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  log "Installing Debian's chromium for the dashboard browser tests..."
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}
