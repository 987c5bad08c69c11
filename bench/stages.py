"""Where the bot's CPU goes, per stage of a photo's handling, from a py-spy profile.

    python -m bench.stages PROFILE.txt [--photos 100] [--rate 250]

PROFILE.txt is py-spy's raw (collapsed-stack) output recorded with `--threads` on the bot's
process (`python -m bench.bot_load --py-spy PROFILE.txt` records the burst this way). Each sample
is given to the first stage of `STAGES` one of its frames names; samples of a thread that waits
(a worker's queue, the selector, aiosqlite's queue) are counted apart, as idle. py-spy also
samples a thread that waits for the GIL or a model's lock, so samples are thread time, not CPU:
`bench.bot_load` measures each thread's CPU seconds (/proc) over the same burst, and the table
gives a stage's CPU as its share of its thread's samples × that thread's CPU.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# (stage, substrings of a frame that put a sample in it), most specific first: a SQLite write
# inside the song choice counts as the store, a log line written while replying as logging.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging/__init__.py", "bot/logs.py")),
    ("update parsing (de_json)", ("parse_update (bot/updates.py", "de_json", "de_list")),
    ("store (SQLite, aiosqlite thread)", ("aiosqlite/", "recommender/store/")),
    ("song choice (catalog order)", ("recommender/music/catalog.py",)),
    ("song choice (selection)", ("recommender/music/",)),
    ("decode", ("recommender/vision/imageio.py",)),
    ("detect", ("FaceDetector", "BlazeFace", "recommender/vision/faces.py")),
    ("face check", ("recommender/vision/facecheck.py",)),
    ("face model (ensemble)", ("predict_proba",)),
    ("pipeline (other)", ("recommender/pipeline.py",)),
    ("reply build (texts, keyboards)", ("bot/texts.py", "bot/keyboards.py", "bot/i18n.py", "gettext")),
    ("getFile", ("get_file",)),
    ("download", ("bot/downloads.py",)),
    ("sendChatAction", ("_chat_action",)),
    ("sendMessage", ("_reply (bot/handlers.py", "reply_text", "send_message")),
    ("getUpdates (HTTP)", ("get_updates", "Updater")),
    ("flood checks", ("bot/limits.py",)),
    ("hand-off to the worker pool", ("Services.analyze", "run_in_executor")),
    ("slots, ordering, handler dispatch", ("bot/processing.py", "telegram/ext/_application.py",
                                           "bot/handlers.py")),
    ("HTTP client (httpx, other)", ("httpx/", "httpcore/", "h11/")),
)
# Where a thread sits when it has nothing to do (py-spy's idle detection misses these).
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py", "Selector.select (selectors.py",
               "_connection_worker_thread (aiosqlite/core.py:59)", "wait (threading.py",
               "Condition.wait", "_recv_into")
OTHER = "event loop (asyncio internals, other)"


def parse(lines: Iterable[str], process: str = "") -> Counter[tuple[str, str]]:
    """(thread, stage) → samples, for the frames of `process` (a substring of its name); a
    thread is "kind tid": main, worker (the analysis pool), sqlite or other."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in lines:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if not stack or not n.isdigit() or process not in stack:
            continue
        frames = stack.split(";")
        thread = next((f for f in frames if f.startswith("thread ")), "thread ?")
        name = thread.split(":", 1)[-1].strip()
        tid = thread.split("(", 1)[-1].split(")", 1)[0]
        kind = "worker" if name.startswith("analyze") else "main" if "MainThread" in name else \
            "sqlite" if "_connection_worker" in stack else "other"
        kind = f"{kind} {tid}"
        if any(leaf in frames[-1] for leaf in IDLE_LEAVES) or frames[-1].startswith("thread "):
            counts[(kind, "idle")] += int(n)
            continue
        stage = next((s for s, marks in STAGES if any(m in f for f in frames for m in marks)), OTHER)
        counts[(kind, stage)] += int(n)
    return counts


def table(counts: Counter[tuple[str, str]], photos: int, rate: float,
          cpu_s: dict[str, float] | None = None) -> str:
    """Markdown: per stage, thread ms a photo (samples), and with `cpu_s` (tid → CPU seconds over
    the recording) CPU ms a photo: the stage's share of each thread's busy samples × its CPU."""
    busy = {k: v for k, v in counts.items() if k[1] != "idle"}
    total = sum(busy.values()) or 1
    per_thread: Counter[str] = Counter()
    for (thread, _), n in busy.items():
        per_thread[thread] += n
    per_stage: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    for (thread, stage), n in busy.items():
        per_stage[stage] += n
        kinds.setdefault(stage, Counter())[thread.split()[0]] += n
        if cpu_s is not None:
            cpu[stage] += n / per_thread[thread] * cpu_s.get(thread.split()[-1], 0.0)
    order = cpu.most_common() if cpu_s is not None else per_stage.most_common()
    rows = ["| stage | CPU ms a photo | thread ms a photo (py-spy) | on |", "|---|---:|---:|---|"]
    for stage, _ in order:
        on = ", ".join(f"{k} {v * 100 // per_stage[stage]}%" for k, v in kinds[stage].most_common())
        cpu_ms = f"{cpu[stage] / photos * 1000:.1f}" if cpu_s is not None else "–"
        rows.append(f"| {stage} | {cpu_ms} | {per_stage[stage] / rate / photos * 1000:.1f} | {on} |")
    by_kind: Counter[str] = Counter()
    cpu_kind: Counter[str] = Counter()
    for thread, n in per_thread.items():
        by_kind[thread.split()[0]] += n
        if cpu_s is not None:
            cpu_kind[thread.split()[0]] += cpu_s.get(thread.split()[-1], 0.0)
    all_cpu = f"**{sum(cpu.values()) / photos * 1000:.1f}**" if cpu_s is not None else "–"
    rows.append(f"| **all** | {all_cpu} | **{total / rate / photos * 1000:.1f}** | " + ", ".join(
        f"{k} {cpu_kind[k] / photos * 1000:.1f} ms CPU" if cpu_s is not None
        else f"{k} {v / rate / photos * 1000:.1f} ms" for k, v in by_kind.most_common()) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__.splitlines()[0])
    p.add_argument("profile", type=Path)
    p.add_argument("--photos", type=int, default=100, help="photos answered while it recorded")
    p.add_argument("--rate", type=float, default=250, help="py-spy's samples a second (-r; bench.bot_load: 250)")
    p.add_argument("--process", default="", help="with --subprocesses: a substring of the bot's process line")
    args = p.parse_args(argv)
    cpu_file = args.profile.with_name(args.profile.name + ".cpu.json")  # bench.bot_load writes it
    cpu_s = json.loads(cpu_file.read_text()) if cpu_file.is_file() else None
    with args.profile.open(encoding="utf-8", errors="replace") as f:
        print(table(parse(f, args.process), args.photos, args.rate, cpu_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
