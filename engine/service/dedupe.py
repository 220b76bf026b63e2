"""Each Twilio ``MessageSid`` has its effect once, however often it is delivered and whatever dies.

Twilio retries a webhook that answered slowly or failed, and the retry carries the same
``MessageSid``. A message counts as handled only once its outcome is committed: the mark
(``seen:<sid>``, kept a day) is written in the same atomic step as the new session, while the
customer's turn is held; taking the turn only checks for it (``gate``). So a delivery whose
handler died leaves no mark and its retry is handled, from the session as it was; a retry that
arrives while the first delivery is still being answered waits for the turn, then finds the mark.

What was answered is kept beside the mark for a while (``said:<sid>``, ``REPLAY_SECONDS``, when
it is not longer than ``REPLAY_MAX_CHARS``): a repeat gets the same replies, not an empty answer
(the first answer may never have reached Twilio). A message refused for the rate limits is marked
too, so its repeats count against nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from engine.service.locks import Gate
from engine.storage.store import Absent, Bound, Get, Op, Set

REMEMBER_SECONDS = 24 * 3600
"""How long a handled message id is recognised in the shared store."""
REPLAY_SECONDS = 10 * 60
"""How long the replies to a handled message are kept for its repeats."""
REPLAY_MAX_CHARS = 8000
"""Longer replies are not kept (a repeat of that message gets an empty answer)."""


class SeenMessages:
    def __init__(self, remember: float = REMEMBER_SECONDS, replay: float = REPLAY_SECONDS) -> None:
        self._remember = remember
        self._replay = replay

    @staticmethod
    def key(message_sid: str) -> str:
        return f"seen:{message_sid}"

    @staticmethod
    def replies_key(message_sid: str) -> str:
        return f"said:{message_sid}"

    def gate(self, message_sid: str) -> Gate:
        """Let ``message_sid`` in only if it was not handled yet (see ``repeated``)."""
        return Gate((Absent(self.key(message_sid)), Get(self.replies_key(message_sid))))

    @staticmethod
    def repeated(checked: Sequence[object]) -> tuple[str, ...]:
        """The replies a repeated message gets, from its ``gate``'s results: the first answer,
        when it is still kept (else none)."""
        raw = checked[1]
        if not isinstance(raw, str):
            return ()
        try:
            replies = json.loads(raw)
        except ValueError:
            return ()
        return tuple(text for text in replies if isinstance(text, str)) if isinstance(replies, list) else ()

    def handled(self, message_sid: str, replies: Sequence[str]) -> list[Op]:
        """The operations marking ``message_sid`` handled with ``replies`` (run with the outcome)."""
        ops: list[Op] = [Set(self.key(message_sid), "1", self._remember)]
        said = json.dumps(list(replies), ensure_ascii=False)
        if len(said) <= REPLAY_MAX_CHARS:
            ops.append(Set(self.replies_key(message_sid), said, self._replay))
        return ops

    def refused(self, message_sid: str) -> tuple[Op, ...]:
        """The operation marking ``message_sid`` as answered by a refusal (its repeats get nothing)."""
        return (Set(self.key(message_sid), "1", self._remember),)


MARKS_IN_MEMORY = Bound(prefixes=(SeenMessages.key(""), SeenMessages.replies_key("")), seconds=15 * 60, count=10_000)
"""The copies kept in the process's memory (see ``engine.storage.fallback``): Twilio's retries come
within minutes, and memory must stay small whatever the traffic."""
