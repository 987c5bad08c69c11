"""Times and zones of the daily check-in: pure functions, no Telegram, no database.

A zone is an IANA name from ZONES (a city the user picked, daylight saving included) or a fixed
offset "UTC+05:30" (one they typed). `next_due` is the next UTC moment of a local time of day.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The cities offered as buttons (label, IANA zone, standard offset in minutes for a system
# without the tz database); callback data carries the index, so the list is append-only.
ZONES: tuple[tuple[str, str, int], ...] = (
    ("UTC", "UTC", 0),
    ("London", "Europe/London", 0),
    ("Madrid", "Europe/Madrid", 60),
    ("Berlin", "Europe/Berlin", 60),
    ("Istanbul", "Europe/Istanbul", 180),
    ("Moscow", "Europe/Moscow", 180),
    ("Delhi", "Asia/Kolkata", 330),
    ("Jakarta", "Asia/Jakarta", 420),
    ("Tokyo", "Asia/Tokyo", 540),
    ("São Paulo", "America/Sao_Paulo", -180),
    ("New York", "America/New_York", -300),
    ("Mexico City", "America/Mexico_City", -360),
    ("Los Angeles", "America/Los_Angeles", -480),
)
# Common times offered as buttons, minutes after local midnight.
TIMES: tuple[int, ...] = (7 * 60, 8 * 60, 9 * 60, 12 * 60, 18 * 60, 21 * 60)
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?")


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_time(text: str) -> int | None:
    """"8", "08:30", "7.15", "21h00" → minutes after midnight; None for anything else."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    return hours * 60 + minutes if hours < 24 and minutes < 60 else None


def offset_zone(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_zone(text: str) -> str | None:
    """A typed zone: "+3", "UTC-05:30", "GMT+1", a city of ZONES or an IANA name; None if unknown."""
    text = text.strip()
    match = _OFFSET.fullmatch(text)
    if match is not None:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        if minutes > 14 * 60 or int(match.group(3) or 0) >= 60:
            return None
        return offset_zone(-minutes if match.group(1) == "-" else minutes)
    if text.casefold() in ("utc", "gmt"):
        return "UTC"
    for label, name, _ in ZONES:
        if text.casefold() in (label.casefold(), name.casefold()):
            return name
    if re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z_+-]+){1,2}", text):
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return text
    return None


def tzinfo(zone: str) -> dt.tzinfo:
    """The zone as a tzinfo: fixed offsets as such, IANA names from the tz database (their
    standard offset when the system has none)."""
    match = re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", zone)
    if match is not None:
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return dt.timezone(dt.timedelta(minutes=-minutes if match.group(1) == "-" else minutes))
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        standard = next((off for _, name, off in ZONES if name == zone), 0)
        return dt.timezone(dt.timedelta(minutes=standard))


def zone_label(zone: str) -> str:
    """The city a user picked, or the offset they typed, as they would say it."""
    return next((label for label, name, _ in ZONES if name == zone), zone)


def next_due(minute: int, zone: str, after: float) -> float:
    """The first UTC moment strictly after `after` when it is `minute` o'clock in `zone`."""
    tz = tzinfo(zone)
    local = dt.datetime.fromtimestamp(after, tz)
    for days in range(0, 3):
        day = local.date() + dt.timedelta(days=days)
        candidate = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tz).timestamp()
        if candidate > after:
            return candidate
    raise AssertionError("a time of day recurs within two days")


def local_day(at: float, zone: str) -> dt.date:
    return dt.datetime.fromtimestamp(at, tzinfo(zone)).date()


def missed(minute: int, zone: str, due_at: float, now: float, cap: int = 31) -> int:
    """How many check-ins fell due from `due_at` up to `now` (1: only the one due), at most `cap`."""
    n, at = 1, due_at
    while n < cap and (at := next_due(minute, zone, at)) <= now:
        n += 1
    return n
