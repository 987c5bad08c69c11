#!/usr/bin/env bash
# PostgreSQL for the history tests: the tests start and stop their own throwaway server
# (tests/pg_server.py); nothing runs as a service. Installing it changes the system, so it is done
# only when asked: under CI (CI=true) or with INSTALL_POSTGRES=1 (make test INSTALL_POSTGRES=1),
# as root with apt. Otherwise one note says how, and those tests skip (except under CI=true).
set -euo pipefail
if ls "${POSTGRES_LIB:-/usr/lib/postgresql}"/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "${CI:-}" != true ] && [ "${INSTALL_POSTGRES:-}" != 1 ]; then
  echo "note: PostgreSQL is not installed, so its tests will be skipped; to run them: sudo apt-get install postgresql" \
       "(or, as root, make test INSTALL_POSTGRES=1; macOS: brew install postgresql)" >&2
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL system-wide for the history tests (Debian package postgresql, apt-get install; about 60 MB)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "note: PostgreSQL is not installed and cannot be installed here (needs root and apt): its tests will be skipped" \
     "(Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql)" >&2
