#!/usr/bin/env bash
# The whole test suite, installing what it needs first:
#   npm packages (npm install), Chromium, OpenSSL and PostgreSQL from Debian, the app build.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/test-results"
rm -rf "$OUT" && mkdir -p "$OUT"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm packages"
  npm install --no-audit --no-fund || exit 1
fi

need=()
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v certtool >/dev/null || need+=(gnutls-bin)
command -v mosquitto >/dev/null && command -v mosquitto_pub >/dev/null || need+=(mosquitto mosquitto-clients)
command -v vfychain >/dev/null && command -v certutil >/dev/null && command -v crlutil >/dev/null || need+=(libnss3-tools)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null || exit 1
fi
# zlint is packaged from Debian 13 (trixie) on; on older releases its source is added pinned at priority 100, so nothing else comes from it.
if ! command -v zlint >/dev/null; then
  echo "== installing zlint from Debian trixie"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if ! grep -rqs trixie /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee /etc/apt/sources.list.d/trixie.sources >/dev/null
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/trixie-pin >/dev/null
  fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t trixie zlint >/dev/null \
    || echo "zlint could not be installed: the zlint checks will be reported as SKIPPED"
fi

status=0
# The fuzz tests run on a fixed seed here, so a red run means a change broke something
# (lib/fuzz/support.ts; run `npx vitest run fuzz` alone to explore with new seeds).
export FUZZ_SEED="${FUZZ_SEED:-20261123}"

echo "== PostgreSQL test server"
if bash scripts/postgres-test.sh start; then
  PORTCULLIS_TEST_POSTGRES_URL=$(bash scripts/postgres-test.sh url) || status=1
  export PORTCULLIS_TEST_POSTGRES_URL
  trap 'bash "$ROOT/scripts/postgres-test.sh" stop' EXIT
else
  echo "PostgreSQL test server did not start: the PostgreSQL tests will be skipped"
  status=1
fi

echo "== type check"
npx tsc --noEmit -p tsconfig.json || status=1

echo "== unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$OUT/vitest.json" || status=1

if [ -n "${PORTCULLIS_TEST_POSTGRES_URL:-}" ]; then
  echo "== the database-touching tests again, on PostgreSQL (a fresh database per test file)"
  PORTCULLIS_TEST_DATABASE=postgres npx vitest run lib/ca lib/iot lib/client lib/mail lib/audit lib/jobs lib/bundles lib/backup lib/db/insert-many.test.ts lib/auth/shared-rate-limit.test.ts \
    --exclude "**/*.fuzz.test.ts" --exclude "lib/ca/faults-*.test.ts" --reporter=dot --reporter=json --outputFile.json="$OUT/vitest-postgres.json" || status=1
fi

echo "== production build"
if npx next build > "$OUT/next-build.log" 2>&1 && node scripts/build-workers.mjs >> "$OUT/next-build.log" 2>&1; then
  echo "== end-to-end tests (Playwright, Chromium)"
  npx playwright test || status=1
  echo "== benchmark, short mode (npm run bench:short: proves the harness works; no speed thresholds)"
  npm run --silent bench:short -- --out "$OUT/bench-short.json" || status=1
else
  tail -40 "$OUT/next-build.log"
  echo "build failed"
  status=1
fi

node scripts/test-summary.mjs "$OUT" || status=1
exit $status
