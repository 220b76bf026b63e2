"""A turn that ends on a question with buttons or a list, sent through the outbox in order.

WhatsApp's reply buttons and list pickers go out over Twilio as a Content template sent with the
REST API, which a TwiML reply cannot carry. So such a turn is not answered in the webhook's
TwiML: every reply of it is queued in the outbox for the customer, texts first and the question
last with its template (``ContentSid`` + ``ContentVariables``), and the webhook answers with an
empty TwiML. The turn's messages are the customer's chain (``Job.chain``, ``chat_chain``), as
are those of the turns queued after it: the queue hands out one at a time, each once the one
before was accepted by Twilio (or given up), so texts and buttons cannot cross, whichever claim
batch or instance's courier takes them.

The jobs are named after the message (Twilio's ``MessageSid``): they are queued during the turn,
before its outcome is committed, as ``Operations`` queues the admin's notices, so a retried
webhook handled again from the same session queues the same names, which the outbox refuses:
nothing is sent twice. Its TwiML is empty like the first's (the seen mark keeps no replies).

Once a turn of a conversation went through the outbox, the turns after it follow it there as
texts (``Session.queued``), in the same chain: a reply in the webhook's TwiML would otherwise
reach the customer before a question still waiting in the outbox.

A turn goes out as today's numbered text in the TwiML when there is nothing to tap (and nothing
of the conversation went through the outbox before), the template of that question is missing (no Twilio credentials, the Content API failed at start, the
map not loaded yet), or the service does not send through Twilio. When Twilio refuses the
template later, the courier sends the question's text instead (``OutboxItem.content_sid``).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.channels.twilio.content import ContentMap, content_variables
from engine.channels.twilio.twiml import split_message
from engine.model.effects import Outcome
from engine.model.inbound import Inbound
from engine.model.jobs import Job
from engine.runtime.flows import Flows
from engine.runtime.taps import offer_sent
from engine.service.outbox import Outbox, OutboxItem, event_id

WINDOW_SECONDS = 24 * 3600.0
"""WhatsApp's customer service window: free-form messages (and in-session templates such as
these) only within 24 hours of the customer's last message."""
KIND_TEXT = "reply"
"""The outbox kind of a turn's texts."""
KIND_BUTTONS = "buttons"
"""The outbox kind of the question that carries the buttons or list."""


def chat_chain(customer: str) -> str:
    """The chain of the turns the outbox sends ``customer`` (named by a digest: no number in a key)."""
    return f"chat:{event_id(customer, 'chat')}"


class ButtonTurns:
    """Queues a turn with buttons in the outbox; ``content`` gives the templates of ``flows``
    (None while they are being prepared at start)."""

    def __init__(self, flows: Flows, outbox: Outbox, content: Callable[[], ContentMap | None]) -> None:
        self._flows = flows
        self._outbox = outbox
        self._content = content

    def jobs(self, outcome: Outcome, inbound: Inbound) -> list[Job]:
        """The outbox's jobs of the turn, in order; none when it goes out as TwiML text: when it has
        no buttons to send and no earlier turn of the conversation went through the outbox
        (``Session.queued``; after one did, the turn's texts follow it there)."""
        if not outcome.replies:
            return []
        offer = offer_sent(self._flows, outcome)
        content = self._content()
        sid = None
        if offer is not None and content is not None and content.flows_hash == self._flows.hash:
            sid = content.sid_for(offer.key)
        if sid is None and not outcome.session.queued:
            return []
        message = inbound.message_id or f"{inbound.customer}|{outcome.session.last_seen}|{inbound.text}"
        name = f"turn:{event_id(message, 'turn')}"
        now = self._outbox.now()
        plain = outcome.replies if sid is None else outcome.replies[:-1]
        texts = [part for reply in plain for part in split_message(reply)]
        items = [OutboxItem(inbound.customer, text, KIND_TEXT, now + index * 1e-6) for index, text in enumerate(texts)]
        if sid is not None and offer is not None:
            question = outcome.replies[-1]
            items.append(OutboxItem(
                inbound.customer, question, KIND_BUTTONS, now + len(texts) * 1e-6, content_sid=sid,
                variables=content_variables(offer, question), window_until=now + WINDOW_SECONDS,
            ))
        chain = chat_chain(inbound.customer)
        return [Job(f"{name}#{index + 1}", item.to_json(), chain) for index, item in enumerate(items)]

    async def send(self, outcome: Outcome, inbound: Inbound) -> bool:
        """Queue the turn when it has buttons to send; False: answer it with TwiML text."""
        jobs = self.jobs(outcome, inbound)
        if not jobs:
            return False
        now = self._outbox.now()
        for job in jobs:
            await self._outbox.queue.add(job.id, job.payload, now, job.chain)
        self._outbox.news.set()
        return True


class LoadedContent:
    """The templates once they are ready: None until the start's preparation has finished
    (meanwhile every question goes out as numbered text)."""

    def __init__(self) -> None:
        self.map: ContentMap | None = None

    def __call__(self) -> ContentMap | None:
        return self.map
