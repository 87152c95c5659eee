#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (lib/db/postgres.test.ts):
#   bash scripts/postgres-test.sh start    start it (a no-op when it already runs)
#   bash scripts/postgres-test.sh url      print its URL (postgresql://portcullis@127.0.0.1:<port>/portcullis)
#   bash scripts/postgres-test.sh status   exit 0 when it runs
#   bash scripts/postgres-test.sh stop     stop it and delete its data directory
#   bash scripts/postgres-test.sh pause    stop the server (fast shutdown) and keep its data
#   bash scripts/postgres-test.sh resume   start a paused server again on the same data and port
#   bash scripts/postgres-test.sh restart  pause + resume at once (a fast shutdown and a start), for fault tests
# A second, private server for a test that stops it: set both PORTCULLIS_TEST_PG_PORT and
# PORTCULLIS_TEST_PG_STATE to values of its own.
# It listens on 127.0.0.1 only, port ${PORTCULLIS_TEST_PG_PORT:-55432}, with trust
# authentication (loopback and its own socket directory only). Its files live in a fresh
# /tmp/portcullis-pg-XXXXXX directory (cluster in data/, with the unix socket; log in
# postgres.log), remembered in ${PORTCULLIS_TEST_PG_STATE:-/tmp/portcullis-pg.state}.
# Role `portcullis` (LOGIN CREATEDB) owns database `portcullis`. Installs Debian's
# `postgresql` (apt-get, with sudo when not root) when no server binaries are found.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user,
# otherwise as the calling user.
set -euo pipefail

PORT="${PORTCULLIS_TEST_PG_PORT:-55432}"
STATE="${PORTCULLIS_TEST_PG_STATE:-/tmp/portcullis-pg.state}"
ROLE=portcullis
DBNAME=portcullis

die() { echo "postgres-test: $*" >&2; exit 1; }
say() { echo "postgres-test: $*" >&2; }

[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ] || die "PORTCULLIS_TEST_PG_PORT must be a port number 1024-65535 (got '$PORT')"
# The server user may not be able to enter the caller's directory (e.g. /root).
cd /

# --- binaries -------------------------------------------------------------------------
find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ]; then echo "$d"; fi
}

install_postgres() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "PostgreSQL is not installed and this user is not root and has no sudo: install the Debian package 'postgresql'"
    sudo="sudo -n"
  fi
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is not available: install PostgreSQL so that /usr/lib/postgresql/<version>/bin exists"
  say "installing PostgreSQL (apt-get install -y postgresql)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
}

# --- running as the server user -------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
  RUN_AS=postgres
else
  RUN_AS="$(id -un)"
fi

as_server() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@" 9>&-
    else su -s /bin/sh postgres -c "$(printf '%q ' "$@")" 9>&-; fi
  else
    "$@" 9>&-
  fi
}

# --- state ----------------------------------------------------------------------------
DIR=""; BIN=""; SPORT=""
load_state() {
  DIR=""; BIN=""; SPORT=""
  [ -f "$STATE" ] || return 1
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      DIR) DIR="$v" ;;
      BIN) BIN="$v" ;;
      PORT) SPORT="$v" ;;
    esac
  done < "$STATE"
  [ -n "$DIR" ] && [ -n "$BIN" ] && [ -n "$SPORT" ] || return 1
  case "$DIR" in /tmp/portcullis-pg-*) ;; *) die "state file $STATE names an unexpected data directory '$DIR'; remove the file by hand" ;; esac
}

running() {
  load_state || return 1
  [ -d "$DIR" ] && [ -x "$BIN/pg_ctl" ] || return 1
  as_server "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1 || return 1
  # A postmaster killed hard can look alive to pg_ctl for a moment: ask the server itself.
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$SPORT" -t 3 >/dev/null 2>&1
}

remove_dir() {
  case "${1:-}" in /tmp/portcullis-pg-?*) rm -rf -- "$1" ;; *) ;; esac
}

# One start/stop at a time (two test runs starting together). The server must not inherit
# the lock's descriptor (it would hold the lock for its lifetime): as_server closes fd 9.
lock() {
  if command -v flock >/dev/null; then
    exec 9>"$STATE.lock"
    flock -w 120 9 || die "timed out waiting for $STATE.lock"
  fi
}

# --- commands -------------------------------------------------------------------------
url() { echo "postgresql://$ROLE@127.0.0.1:$1/$DBNAME"; }

cmd_start() {
  lock
  if running; then
    [ "$SPORT" = "$PORT" ] || say "note: already running on port $SPORT (not $PORT)"
    say "already running on 127.0.0.1:$SPORT (data $DIR)"
    return 0
  fi
  if load_state; then
    say "removing stale state (server in $DIR is not answering)"
    [ -x "$BIN/pg_ctl" ] && as_server "$BIN/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 10 >/dev/null 2>&1 || true
    remove_dir "$DIR"
  fi
  rm -f "$STATE"

  BIN=$(find_bin)
  if [ -z "$BIN" ]; then
    install_postgres
    BIN=$(find_bin)
    [ -n "$BIN" ] || die "PostgreSQL was installed but no /usr/lib/postgresql/*/bin/pg_ctl was found"
  fi
  id "$RUN_AS" >/dev/null 2>&1 || die "user '$RUN_AS' does not exist (the postgresql package creates it)"

  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "something already listens on 127.0.0.1:$PORT and it is not this script's server: stop it or set PORTCULLIS_TEST_PG_PORT"
  fi

  DIR=$(mktemp -d /tmp/portcullis-pg-XXXXXX)
  # From here on, a failure removes the half-made directory.
  trap 'as_server "$BIN/pg_ctl" stop -D "$DIR/data" -m immediate >/dev/null 2>&1 || true; remove_dir "$DIR"' EXIT
  chmod 700 "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi

  local data="$DIR/data" log="$DIR/postgres.log" out
  if ! out=$(as_server "$BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync 2>&1); then
    echo "$out" >&2
    die "initdb failed"
  fi
  # Only the socket in the data directory and loopback TCP; nobody else gets in.
  as_server sh -c "cat > '$data/pg_hba.conf'" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  # A throwaway server: durability off for speed.
  as_server sh -c "cat >> '$data/postgresql.conf'" <<EOF

# scripts/postgres-test.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF

  if ! as_server "$BIN/pg_ctl" start -D "$data" -l "$log" -w -t 60 >/dev/null 2>&1; then
    tail -n 30 "$log" >&2 || true
    die "pg_ctl start failed (log above)"
  fi
  local i
  for i in $(seq 1 60); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 1 && break
    [ "$i" = 60 ] && { tail -n 30 "$log" >&2 || true; die "server did not accept connections on 127.0.0.1:$PORT"; }
    sleep 0.5
  done

  local psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
  "${psql[@]}" -c "CREATE ROLE $ROLE LOGIN CREATEDB" >/dev/null || die "could not create role $ROLE"
  "${psql[@]}" -c "CREATE DATABASE $DBNAME OWNER $ROLE" >/dev/null || die "could not create database $DBNAME"

  printf 'DIR=%s\nBIN=%s\nPORT=%s\n' "$DIR" "$BIN" "$PORT" > "$STATE.tmp"
  mv -f "$STATE.tmp" "$STATE"
  trap - EXIT
  say "started PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data $DIR)"
}

cmd_stop() {
  lock
  if ! load_state; then
    say "not running (no state in $STATE)"
    rm -f "$STATE"
    return 0
  fi
  if [ -d "$DIR" ] && as_server "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; then
    as_server "$BIN/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 >/dev/null 2>&1 \
      || as_server "$BIN/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 30 >/dev/null 2>&1 \
      || die "could not stop the server in $DIR"
    say "stopped (port $SPORT)"
  else
    say "server in $DIR was not running"
  fi
  remove_dir "$DIR"
  rm -f "$STATE"
}

# Fault tests: the server goes away (connections are terminated) and comes back on the same data.
cmd_pause() {
  lock
  load_state || die "not started: run 'bash scripts/postgres-test.sh start' first"
  as_server "$BIN/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 >/dev/null 2>&1 \
    || die "could not stop the server in $DIR"
  say "paused (port $SPORT, data kept in $DIR)"
}

cmd_resume() {
  lock
  load_state || die "not started: run 'bash scripts/postgres-test.sh start' first"
  if ! as_server "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; then
    as_server "$BIN/pg_ctl" start -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 >/dev/null 2>&1 \
      || { tail -n 30 "$DIR/postgres.log" >&2 || true; die "pg_ctl start failed (log above)"; }
  fi
  local i
  for i in $(seq 1 60); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$SPORT" -t 1 && { say "resumed on 127.0.0.1:$SPORT"; return 0; }
    sleep 0.5
  done
  die "server did not accept connections on 127.0.0.1:$SPORT after resume"
}

cmd_url() {
  running || die "not running: run 'bash scripts/postgres-test.sh start' first"
  url "$SPORT"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  pause) cmd_pause ;;
  resume) cmd_resume ;;
  restart) cmd_pause; exec 9>&-; cmd_resume ;;
  url) cmd_url ;;
  status) running && { say "running on 127.0.0.1:$SPORT (data $DIR)"; exit 0; } || { say "not running"; exit 1; } ;;
  *) echo "usage: $0 start|stop|url|status|pause|resume|restart" >&2; exit 2 ;;
esac
