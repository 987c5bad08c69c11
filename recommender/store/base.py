"""The history interface the song service relies on; each database implements it."""
from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ..types import Served


class UserHistory(Protocol):
    """One user's history inside an open transaction (see `HistoryStore.user`)."""

    async def served(self, mood: str | None = None) -> list[Served]:
        """The user's servings of `mood` (None: of every mood), oldest first."""
        ...

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        """Record a serving; it is committed when the transaction ends."""
        ...


class HistoryStore(Protocol):
    """Per-user history of served songs and per-user settings.

    `user(user_id)` opens a transaction that no other writer of that user's history can
    interleave with (in this process or any other sharing the database): a song chosen from what
    it reads and appended in it is committed durably before the block exits, i.e. before the
    caller shows it, and no concurrent choice for the same user can pick it again.
    """

    def user(self, user_id: int) -> AbstractAsyncContextManager[UserHistory]: ...

    async def forget(self, user_id: int) -> int:
        """Delete everything stored about the user; returns how many songs were forgotten."""
        ...

    async def get_lift(self, user_id: int) -> bool: ...

    async def set_lift(self, user_id: int, on: bool) -> None: ...

    async def claim_update(self, update_id: int) -> bool:
        """True the first time an update id is claimed (by any process sharing the database),
        False for a repeated delivery."""
        ...

    async def heartbeat(self, now: float | None = None, replica: str = "") -> None:
        """Record that this replica is alive (read by `python -m bot --health`)."""
        ...

    async def close(self) -> None: ...
