"""Each Twilio ``MessageSid`` is handled once, however often Twilio delivers it.

Twilio retries a webhook that answered slowly or failed; the retry carries the same
``MessageSid``. The first delivery marks the id (``SET NX`` with a 24 h expiry), later ones find
the mark and change nothing. A delivery that fails before finishing takes its mark back, so
Twilio's retry is handled.
"""

from __future__ import annotations

from engine.storage.store import SetIfAbsent, Store

REMEMBER_SECONDS = 24 * 3600


class SeenMessages:
    def __init__(self, store: Store, remember: float = REMEMBER_SECONDS) -> None:
        self._store = store
        self._remember = remember

    @staticmethod
    def key(message_sid: str) -> str:
        return f"seen:{message_sid}"

    def mark(self, message_sid: str) -> SetIfAbsent:
        """The operation marking ``message_sid``: its result is True on the first delivery only."""
        return SetIfAbsent(self.key(message_sid), "1", self._remember)

    async def forget(self, message_sid: str) -> None:
        """Let a retry of ``message_sid`` through (its first delivery failed)."""
        await self._store.delete(self.key(message_sid))
