"""Song titles as shown: version notes ("- Remastered 2009", "(Radio Edit)") removed.

Only the displayed name changes; the track id (and so the Spotify link) stays the same. Notes
that name a different recording people choose on purpose (remixes, acoustic, live, "feat.")
are kept: they tell the listener what they will hear.
"""
from __future__ import annotations

import re

# What a pure version note says: remasters, edits, mono/stereo, single/album versions, bonus.
_NOTE = (r"(?:\d{4}\s+)?(?:digital(?:ly)?\s+)?remaster(?:ed)?(?:\s+version)?(?:\s+\d{4})?"
         r"|(?:\d{4}\s+)?remaster(?:ed)?\s+(?:edition|mix)"
         r"|(?:single|album|radio|lp|mono|stereo|original|explicit|clean|main|extended|short)"
         r"(?:\s+(?:version|edit|mix))+(?:\s*/\s*(?:mono|stereo)\s+mix)?"
         r"|radio\s+edit|edit|single|explicit|clean|bonus\s+track|from\s+\S.*\s+soundtrack"
         r"|\d{4}\s+(?:versi[oó]n|mix)|versi[oó]n\s+\d{4}|mono|stereo")
_DASH_NOTE = re.compile(rf"\s+[-–—]\s+(?:{_NOTE})\s*$", re.IGNORECASE)
_BRACKET_NOTE = re.compile(rf"\s*[\(\[]\s*(?:{_NOTE})\s*[\)\]]\s*$", re.IGNORECASE)


def clean_title(title: str) -> str:
    """'Start Me Up - Remastered 2009' → 'Start Me Up'; a title that is only a note stays."""
    text = " ".join(str(title).split())
    while True:
        shorter = _BRACKET_NOTE.sub("", _DASH_NOTE.sub("", text)).strip()
        if shorter == text or not shorter:
            return text
        text = shorter
