#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 for the tests, idempotently: trust access
# from 127.0.0.1 (and ::1) for every role, the cluster listening on
# 127.0.0.1:5432, and a `test` database owned by `postgres`. Fast (< 1 s) when
# it is already running and configured. Sourced by scripts/setup.sh; also
# runnable on its own.
#
# The machine starts no service for us, so this is the one place PostgreSQL
# comes up. It never fails the caller: scripts/test decides (CI=true fails
# when the database cannot be reached, otherwise its tests are skipped).

handoo_start_postgres() {
  local version="${HANDOO_PG_VERSION:-15}" cluster=main port=5432
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"

  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed (apt-get install postgresql-$version)" >&2
    return 0
  fi
  local conf="/etc/postgresql/$version/$cluster"
  if [ ! -d "$conf" ]; then
    echo "creating PostgreSQL $version cluster '$cluster'"
    $sudo pg_createcluster "$version" "$cluster" --port "$port" >/dev/null || return 0
  fi

  # Trust for loopback TCP, ahead of any stricter rule (pg_hba is first-match).
  local hba="$conf/pg_hba.conf" marker="# handoo: trust loopback (tests)"
  local changed=false
  if ! $sudo grep -qF "$marker" "$hba"; then
    local tmp
    tmp="$(mktemp)"
    {
      echo "$marker"
      echo "host all all 127.0.0.1/32 trust"
      echo "host all all ::1/128 trust"
      $sudo cat "$hba"
    } >"$tmp"
    $sudo install -o postgres -g postgres -m 640 "$tmp" "$hba"
    rm -f "$tmp"
    changed=true
  fi
  # Loopback only, on the port the tests expect; memory and costs as a
  # production server would have them (Debian's defaults are sized for a
  # small shared host: 128 MB of buffers, and random reads priced as on a
  # spinning disk, which steers the planner off index walks).
  local drop="$conf/conf.d/handoo.conf"
  local want="listen_addresses = '127.0.0.1'
port = $port
shared_buffers = 1GB
random_page_cost = 1.1
effective_io_concurrency = 200
max_wal_size = 4GB"
  if [ "$($sudo cat "$drop" 2>/dev/null)" != "$want" ]; then
    echo "$want" | $sudo tee "$drop" >/dev/null
    $sudo chown postgres:postgres "$drop"
    changed=true
  fi

  if pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
    if $changed; then
      $sudo pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart
    fi
  else
    echo "starting PostgreSQL $version on 127.0.0.1:$port"
    $sudo pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || {
      echo "PostgreSQL did not start; its log:" >&2
      $sudo tail -20 "/var/log/postgresql/postgresql-$version-$cluster.log" >&2 || true
      return 0
    }
  fi

  local i
  for i in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
  done
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE test" || true
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  handoo_start_postgres
fi
