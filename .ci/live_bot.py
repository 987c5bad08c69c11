"""CI helper: a loopback Bot API (tests/fake_telegram.py) for the bot running inside the image.

    python .ci/live_bot.py PORT_FILE PHOTO [--timeout 180]

Starts the fake Bot API on a free loopback port, writes the port to PORT_FILE (the CI script
passes it to `docker run --network host`), then acts as a user: /start, then a photo, then a
German-speaking user's /start. Exits 0 once all got the right replies (a greeting; a song link
with a "More" button; the German greeting of the catalog, the command menu published in every
language), 1 otherwise;
it keeps serving until SIGTERM, so the bot's own clean shutdown still reaches it.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bot import texts  # noqa: E402
from bot.i18n import Languages  # noqa: E402
from fake_telegram import FakeTelegram  # noqa: E402

LINK = re.compile(r"https://open\.spotify\.com/track/[0-9A-Za-z]{22}")


async def main(port_file: Path, photo: Path, timeout: float) -> int:
    fake = await FakeTelegram().start()
    port_file.write_text(str(fake.port))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    code = 1
    try:
        user = fake.user(4242)
        await user.send_text("/start")
        greeting = await user.reply(timeout=timeout)  # includes the container's cold start
        print(f"live: /start → {greeting.text.splitlines()[0][:80]!r}")
        await user.send_photo(photo.read_bytes(), 1280, 960)
        answer = await user.reply(timeout=60)
        print("live: photo → " + " | ".join(answer.text.splitlines()[:3])[:200])
        ok = bool(LINK.search(answer.text)) and any("More" in b.get("text", "") for b in answer.buttons)
        print(f"live: song link and More button: {'yes' if ok else 'NO'}; "
              f"setMyCommands: {'yes' if fake.commands else 'NO'}")
        german = fake.user(4343, language_code="de")
        await german.send_text("/start")
        greeting = await german.reply(timeout=60)
        languages = Languages.load()
        await fake.wait_for(lambda: fake.commands and len(fake.profile) >= 3 * len(languages), timeout=30)
        spoken = greeting.text == texts.start(languages.get("de").tr)
        menus = {code for what, scope, code in fake.profile if what == "commands" and scope == "default"}
        every = menus == {None if lang.code == "en" else lang.api_code for lang in languages}
        print(f"live: German /start answered in German: {'yes' if spoken else 'NO'}; "
              f"menus for {len(menus)} of {len(languages)} languages")
        code = 0 if ok and fake.commands and spoken and every else 1
    except TimeoutError:
        print("live: the bot in the container did not answer in time")
    sys.stdout.flush()
    try:
        await asyncio.wait_for(stop.wait(), 300)
    except TimeoutError:
        pass
    await fake.stop()
    return code


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("port_file", type=Path)
    p.add_argument("photo", type=Path)
    p.add_argument("--timeout", type=float, default=180.0)
    a = p.parse_args()
    sys.exit(asyncio.run(main(a.port_file, a.photo, a.timeout)))
