"""Typed values that flow between the pipeline's stages and out to the bot."""
from __future__ import annotations

from dataclasses import dataclass

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MOODS: tuple[str, ...] = ("calm", "happy", "energetic", "sad")


@dataclass(frozen=True)
class Box:
    """A face rectangle in pixels of the (EXIF-rotated, original-size) image."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class Face:
    box: Box
    score: float = 1.0  # detector confidence; Haar gives none, so 1.0


@dataclass(frozen=True)
class EmotionScores:
    """Softmax probabilities over EMOTIONS, in that order."""

    probs: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.probs) != len(EMOTIONS):
            raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {len(self.probs)}")

    @property
    def emotion(self) -> str:
        return EMOTIONS[max(range(len(self.probs)), key=self.probs.__getitem__)]

    @property
    def confidence(self) -> float:
        return max(self.probs)

    def as_dict(self) -> dict[str, float]:
        return {e: round(float(p), 4) for e, p in zip(EMOTIONS, self.probs)}


@dataclass(frozen=True)
class FaceEmotion:
    face: Face
    scores: EmotionScores


@dataclass(frozen=True)
class Served:
    """One past serving of a song to a user, as the history stores it (oldest first)."""

    track_id: str
    cycle: int  # how many times the user had gone through the song's mood before


@dataclass(frozen=True, slots=True)  # slots: ~60 bytes less a song, 13,900 songs in the catalog
class Song:
    track_id: str
    name: str
    artist: str
    mood: str
    confidence: float = 1.0
    popularity: int = 0
    valence: float = 0.5
    energy: float = 0.5
    genre: str = ""  # the source playlist's genre (edm, latin, pop, r&b, rap, rock); "" unknown
    flags: frozenset[str] = frozenset()  # curation marks, e.g. {"christmas", "explicit", "dark"}

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/track/{self.track_id}"

    def as_dict(self) -> dict[str, str]:
        return {"track_id": self.track_id, "name": self.name, "artist": self.artist, "url": self.url}
