"""What goes into and comes out of the runtime: an inbound message, effects, the outcome.

The runtime is pure: ``handle(flows, session, inbound, now) -> Outcome``. Everything the outside
world must do after a message (store an order, tell the admin, hand the customer to a person)
comes back as an effect carrying all of its data; the service layer executes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A WhatsApp location pin."""

    latitude: float
    """Degrees north (negative: south)."""
    longitude: float
    """Degrees east (negative: west)."""
    label: str | None = None
    """The place name or address WhatsApp attached to the pin, if any."""

    def describe(self) -> str:
        where = f"{self.latitude:.5f}, {self.longitude:.5f}"
        return f"📍 {self.label} ({where})" if self.label else f"📍 {where}"


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a customer, already stripped of its transport."""

    customer: str
    """The customer's WhatsApp number in E.164 (``+5215512345678`` already normalised to ``+52...``)."""
    text: str = ""
    """What the customer typed (empty for a bare location pin)."""
    location: Location | None = None
    """A location pin, when the customer sent one."""
    profile_name: str | None = None
    """The WhatsApp profile name, when the transport gives it."""
    message_id: str | None = None
    """The transport's id of this message (Twilio's ``MessageSid``): what the effects of this very
    message are named after, so a retried webhook never sends twice. The runtime ignores it."""
    tap: str | None = None
    """The id of the reply button or list item the customer tapped (``<step>:<choice>``, see
    ``engine.runtime.choices_view``); None when they typed."""
    media: int = 0
    """How many files (a photo, a voice note, a sticker) came with the message: the bot reads text only."""
    opted_out: bool = False
    """The service remembers that this customer asked not to be written to (``OptOut``): writing
    again lifts it (``OptIn``)."""
