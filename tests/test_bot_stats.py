"""`python -m bot.stats`: the operator's field accuracy, counts only, read without writing."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from recommender.store.sqlite import SQLiteHistoryStore

SCORES = (0.05, 0.01, 0.04, 0.10, 0.60, 0.05, 0.15)
USERS = (987654321, 123123123)


def run_stats(path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "bot.stats"], env={**env, "DATABASE_PATH": str(path)},
                          capture_output=True, text=True, timeout=60)


async def test_counts_selfies_corrections_and_the_detected_by_chosen_table(tmp_path):
    path = tmp_path / "mood.sqlite3"
    store = await SQLiteHistoryStore.open(path)
    a, b = USERS
    for user, detected, chosen in ((a, "sad", "happy"), (a, "sad", "happy"), (b, "sad", "sad"),
                                   (b, "happy", "calm"), (a, "happy", None), (b, "calm", None)):
        reading = await store.add_reading(user, "selfie", detected, SCORES)
        if chosen:
            await store.add_choice(user, reading, chosen)
    await store.add_reading(a, "mood", "energetic")  # not a selfie: not counted
    await store.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    done = run_stats(path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "selfies answered: 6" in out and "moods chosen after a selfie: 4" in out
    assert "corrections (chosen mood differs from the one read): 3" in out and "correction rate: 50.0%" in out
    rows = {line.split()[0]: [int(n) for n in line.split()[1:]] for line in out.splitlines()[-4:]}
    # columns: calm happy energetic sad
    assert rows == {"calm": [0, 0, 0, 0], "happy": [1, 0, 0, 0], "energetic": [0, 0, 0, 0], "sad": [0, 2, 0, 1]}
    assert not any(str(u) in out for u in USERS)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # read-only


def test_a_missing_database_is_one_line_and_exit_2(tmp_path):
    done = run_stats(tmp_path / "nothing.sqlite3")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "DATABASE_PATH" in done.stderr
