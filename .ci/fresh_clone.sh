#!/usr/bin/env bash
# A newcomer's path, as the README writes it: clone, `cp .env.example .env` with a token in it,
# `make test`. In a temporary clone of the committed tree with its own .venv (never this checkout's;
# pip's wheel cache, warmed by the step before, saves the downloads). Fails when make test fails,
# when any test reads the .env (its TELEGRAM_API_URL points at a loopback listener that must get no
# request), or when a process started during the run is still alive after it.
#   .ci/fresh_clone.sh [SHARED]      (SHARED: the shared folder, default ../shared beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${1:-${SHARED:-$(cd .. && pwd)/shared}}
WORK=$(mktemp -d)
canary=""
cleanup() {
  [ -n "$canary" ] && kill "$canary" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
t0=$(date +%s)

git clone -q "$ROOT" "$WORK/repo"
cd "$WORK/repo"
# A stand-in for Telegram that no test may ever reach: only a bot reading the user's .env would.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$WORK" 2> "$WORK/canary.log" > /dev/null & canary=$!
cp .env.example .env
sed -i "s|^TELEGRAM_BOT_TOKEN=\$|TELEGRAM_BOT_TOKEN=123456789:fresh-clone-not-a-real-token-012345|" .env
printf 'TELEGRAM_API_URL=http://127.0.0.1:%s/dotenv-canary/bot\nTELEGRAM_FILE_URL=http://127.0.0.1:%s/dotenv-canary/file/bot\n' \
  "$port" "$port" >> .env
grep -q '^TELEGRAM_BOT_TOKEN=123456789:' .env || { echo "fresh clone: .env.example has no empty TELEGRAM_BOT_TOKEN= line"; exit 1; }

# Every process make test starts inherits this marker (runuser and pg_ctl keep the environment),
# so what is left afterwards is found among all processes, whoever else runs on the machine.
set +e
MML_FRESH_CLONE="$WORK" MML_DATA_DIR="$SHARED/data" MML_MODELS_DIR="$SHARED/models" \
  make --no-print-directory test PYTEST_ARGS="-p no:cacheprovider -rs" 2>&1 | tee "$WORK/make-test.log"
rc=${PIPESTATUS[0]}
set -e
t_test=$(( $(date +%s) - t0 ))

left=""
for environ in /proc/[0-9]*/environ; do
  pid=${environ#/proc/}; pid=${pid%/environ}
  if { tr '\0' '\n' < "$environ"; } 2>/dev/null | grep -qxF "MML_FRESH_CLONE=$WORK"; then
    left+="  $pid $(ps -o args= -p "$pid" 2>/dev/null)"$'\n'
  fi
done
requests=$(grep -c '"[A-Z]* /' "$WORK/canary.log" || true)

echo "fresh clone: make test exit $rc in ${t_test} s; .venv $(du -sh .venv | cut -f1); requests to the .env's Bot API: $requests"
[ "$rc" -eq 0 ] || { echo "fresh clone: make test failed"; exit 1; }
[ "$requests" -eq 0 ] || { echo "fresh clone: a test read .env and called its Bot API:"; cat "$WORK/canary.log"; exit 1; }
[ -z "$left" ] || { printf 'fresh clone: processes left behind by make test:\n%s' "$left"; exit 1; }
echo "fresh clone: ok"
