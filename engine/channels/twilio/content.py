"""The flows' buttons and lists as Twilio Content templates: made through the Content API, found
again by name, and filled in when a message is sent.

Over Twilio, WhatsApp reply buttons and list pickers are Content resources (``twilio/quick-reply``,
``twilio/list-picker``) sent with a ``ContentSid`` and ``ContentVariables`` through the Messages
API. One template is made per question of the flows that offers something to tap
(``engine.runtime.choices_view``), named ``rinconcito_<flows hash>_<kind>_<question>``: the same
flows find the templates they made instead of making them again, and edited flows (a new hash)
get their own while the old ones stay for whoever still runs the old version.

A template's body is the variable ``{{1}}``: the text of the message that asks, rendered for the
conversation, so it stays the same template as without buttons. A title that changes with the
conversation (an option's extra price for the item asked about) is a variable too, ``{{2}}`` and
on, in the order of the options. Each template also has a ``twilio/text`` type whose body is the
same text, Twilio's own fallback where buttons cannot be shown. Such templates are for replies
within WhatsApp's 24-hour session only: a body that starts with a variable cannot be approved
for messages outside it (https://www.twilio.com/docs/content/twilio-quick-reply), and list pickers
never can (https://www.twilio.com/docs/content/twiliolist-picker).

The Content API (https://www.twilio.com/docs/content/content-api-resources): ``POST /v1/Content``
with a JSON body creates a resource (201, its SID ``HX`` + 32 hex digits); ``GET /v1/Content``
lists them a page at a time (``contents`` and ``meta.next_page_url``, followed as given, by its
path: ``PageToken`` is opaque); ``GET /v1/Content/{sid}`` fetches one (404 once deleted). Basic
auth with the account SID and auth token, like the Messages API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.runtime.choices_view import Offer, offers
from engine.runtime.flows import Flows

NAME_PREFIX = "rinconcito"
QUICK_REPLY = "twilio/quick-reply"
LIST_PICKER = "twilio/list-picker"
TEXT = "twilio/text"
BODY = "1"
"""The variable holding the text of the message that asks."""


# What a tap sends back: the webhook Twilio posts for the customer's answer carries, besides the
# usual fields (From, Body, MessageSid...; https://www.twilio.com/docs/messaging/guides/webhook-request):
# - a reply button (twilio/quick-reply): ``ButtonPayload``, the action's ``id`` exactly as given
#   when the template was made (our tap id), and ``ButtonText``, its title as shown (also the
#   ``Body``); ``MessageType`` is ``button`` and ``OriginalRepliedMessageSid`` names the message
#   that had the button. That the id comes back in ``ButtonPayload``, as given: "To specify a
#   Button Payload, pass in an ID field into the button actions array ... Button Payloads will be
#   returned in the inbound webhook", "the exact payload specified" (Twilio's changelog,
#   https://www.twilio.com/en-us/changelog/rcs-button-payload; see also
#   https://www.twilio.com/docs/whatsapp/buttons).
# - a list item (twilio/list-picker): ``ListId``, the item's ``id``, and ``ListTitle``, its text
#   (also the ``Body``); ``MessageType`` is ``interactive``. Looked up again in the stored copies
#   of Twilio's docs (the webhook-request page above, twilio/list-picker at
#   https://www.twilio.com/docs/content/twiliolist-picker): their excerpts stop before the
#   WhatsApp part of the parameter table, so these two names are the ones public Twilio
#   integrations read, not a quote. Should Twilio name them otherwise, nothing breaks: the
#   ``Body`` (the item's title) is read as typed text, and a payload that is no tap id of ours too.
TAP_FIELDS = ("ButtonPayload", "ListId")
"""The webhook fields that hold a tap's id (``choices_view.Option.tap``)."""
TAP_ID_FIELD_LIMIT = 200
"""Characters of a tap id kept from the webhook (a list item's id holds at most 200)."""
TAP_TEXT_FIELDS = ("ButtonText", "ListTitle")
"""The webhook fields that hold the tapped option's text as the customer saw it."""


def tap_in(form: Mapping[str, str]) -> str | None:
    """The tap id a webhook's form carries (None: the customer typed, or sent something else)."""
    for name in TAP_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            return value
    return None


class ContentApiError(Exception):
    """The Content API could not be used: no answer, an error status, or an answer that is not a
    Content resource. The text is one line for a log (no credentials, no customer text)."""

    def __init__(self, what: str, status: int | None = None, code: int | None = None) -> None:
        self.status, self.code = status, code
        super().__init__(what)


@dataclass(frozen=True, slots=True)
class ContentResource:
    """A Content resource as the API returns it (the fields used here)."""

    sid: str
    friendly_name: str
    types: Mapping[str, Any] = field(default_factory=dict)
    date_created: str = ""
    """ISO 8601 in UTC (``2022-08-29T10:43:20Z``), as Twilio writes it: sorts as text."""

    @classmethod
    def from_json(cls, data: Any) -> ContentResource:
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str) or not data["sid"].startswith("HX"):
            raise ContentApiError("Content API: the answer is not a Content resource")
        types = data.get("types")
        return cls(data["sid"], str(data.get("friendly_name") or ""), types if isinstance(types, dict) else {},
                   str(data.get("date_created") or ""))


class ContentApi(Protocol):
    """The Content API as the templates use it: ``engine.channels.twilio.content_api.ContentClient``
    (kept apart, with its HTTP client, so a service without Twilio credentials never loads httpx)."""

    async def create(self, request: Mapping[str, Any]) -> ContentResource: ...

    async def fetch(self, sid: str) -> ContentResource | None:
        """The resource, or None when Twilio no longer has it."""
        ...

    async def list(self) -> list[ContentResource]:
        """Every Content resource of the account."""
        ...

    async def aclose(self) -> None: ...


# ------------------------------------------------------------------ templates for the flows


def template_name(flows_hash: str, offer: Offer) -> str:
    """``rinconcito_<hash>_<kind>_<step>`` (``__<group>`` for an option group): what finds it again."""
    return f"{NAME_PREFIX}_{flows_hash}_{offer.kind}_{offer.key.replace(':', '__')}"


def _title_variables(offer: Offer) -> dict[int, str]:
    """Option index -> the variable holding its title, for the titles that change with the conversation."""
    numbered: dict[int, str] = {}
    for index, option in enumerate(offer.options):
        if option.varies:
            numbered[index] = str(len(numbered) + 2)
    return numbered


def content_request(offer: Offer, flows_hash: str, language: str) -> dict[str, Any]:
    """The JSON body that creates ``offer``'s template (``offer`` built without an item: titles
    that vary have their longest form, used as the variable's sample value)."""
    if offer.kind == "none":
        raise ValueError(f"{offer.key} offers nothing to tap")
    numbered = _title_variables(offer)
    variables = {BODY: offer.message, **{numbered[i]: offer.options[i].title for i in numbered}}

    def title(index: int) -> str:
        return "{{" + numbered[index] + "}}" if index in numbered else offer.options[index].title

    body = "{{" + BODY + "}}"
    if offer.kind == "buttons":
        rich: dict[str, Any] = {"body": body, "actions": [
            {"id": option.tap, "title": title(i)} for i, option in enumerate(offer.options)
        ]}
    else:
        rich = {"body": body, "button": offer.list_button, "items": [
            {"id": option.tap, "item": title(i), **({"description": option.description} if option.description else {})}
            for i, option in enumerate(offer.options)
        ]}
    return {
        "friendly_name": template_name(flows_hash, offer),
        "language": language,
        "variables": variables,
        "types": {QUICK_REPLY if offer.kind == "buttons" else LIST_PICKER: rich, TEXT: {"body": body}},
    }


def content_variables(offer: Offer, body: str) -> dict[str, str]:
    """``ContentVariables`` for one send: the text that asks, and the titles of this conversation
    (``offer`` built for the item asked about, see ``choices_view.offer_for``)."""
    numbered = _title_variables(offer)
    return {BODY: body, **{numbered[i]: offer.options[i].title for i in numbered}}


@dataclass(frozen=True, slots=True)
class ContentMap:
    """The templates of one version of the flows: question (``Offer.key``) -> Content SID.
    A question missing here goes out as numbered text."""

    flows_hash: str
    sids: Mapping[str, str] = field(default_factory=dict)

    def sid_for(self, key: str) -> str | None:
        return self.sids.get(key)

    def covers(self, flows: Flows) -> bool:
        """Whether every question of ``flows`` that offers something to tap has its template."""
        return flows.hash == self.flows_hash and all(o.key in self.sids for o in wanted(flows))

    def to_json(self) -> str:
        return json.dumps({"flows": self.flows_hash, "sids": dict(self.sids)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ContentMap | None:
        """The map written by ``to_json``; None for nothing or anything else."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("flows"), str) or not isinstance(data.get("sids"), dict):
            return None
        sids = {str(k): v for k, v in data["sids"].items() if isinstance(v, str) and v.startswith("HX")}
        return cls(data["flows"], sids)


def wanted(flows: Flows) -> list[Offer]:
    """The questions that need a template: those offering buttons or a list."""
    return [offer for offer in offers(flows) if offer.kind != "none"]


@dataclass(frozen=True, slots=True)
class Synced:
    """What a sync did."""

    content: ContentMap
    created: tuple[str, ...] = ()
    """Questions whose template was made now."""
    found: tuple[str, ...] = ()
    """Questions whose template Twilio already had."""


async def sync_content(flows: Flows, client: ContentApi) -> Synced:
    """Find each template ``flows`` needs by name, make the missing ones; ``ContentApiError`` when
    the API fails (what was made before the failure is found by name next time, not made twice).

    Not safe to run twice at once for the same flows (both would make the missing templates):
    ``engine.http.content`` runs it under a lock shared by every instance."""
    need = wanted(flows)
    names = {offer.key: template_name(flows.hash, offer) for offer in need}
    if len(set(names.values())) != len(names):
        raise ValueError("two questions of the flows would share a template name")
    existing: dict[str, ContentResource] = {}
    for resource in sorted(await client.list(), key=lambda r: (r.date_created, r.sid)):
        existing.setdefault(resource.friendly_name, resource)  # the oldest, if someone made two
    sids: dict[str, str] = {}
    created: list[str] = []
    found: list[str] = []
    language = flows.restaurant.language.code
    for offer in need:
        there = existing.get(names[offer.key])
        if there is None:
            there = await client.create(content_request(offer, flows.hash, language))
            created.append(offer.key)
        else:
            found.append(offer.key)
        sids[offer.key] = there.sid
    return Synced(ContentMap(flows.hash, sids), tuple(created), tuple(found))
