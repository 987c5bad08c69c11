#!/usr/bin/env bash
# PostgreSQL for the history tests: the distribution's server package, installed when missing.
# The tests start and stop their own server (tests/pg_server.py); nothing runs as a service.
# Without root or apt (a laptop), say so: those tests then skip, except under CI=true.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL (Debian package postgresql) for the history tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "note: PostgreSQL is not installed; its tests will be skipped (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql)" >&2
