"""The courier: a worker task that delivers what the outbox holds, with the retry policy.

- sent: the job is finished and its id remembered for ``keep_days`` (the same event enqueued
  again, even after a restart, sends nothing), with Twilio's message SID for the status callbacks;
- transient failure (Twilio down, 429, network): tried again after ``RetryPolicy.delay``; after
  ``max_attempts`` tries it is given up, logged and reported. While messages wait after such a
  failure, one of them is tried every ``probe_every`` seconds (a probe, not counted as a try),
  and the first message that goes out brings every other one forward: once Twilio is back,
  everything queued goes out within seconds, not after each message's own back-off;
- permanent failure (invalid number, not on WhatsApp...): dropped, logged and reported;
- outside the 24-hour window (63016): the approved template ``template_sid`` is sent instead
  when there is one; without one the message is logged and kept, tried again every
  ``window_retry`` seconds (or at once after ``Outbox.wake()``, e.g. when the admin writes to the bot).

Twilio reports most failures later, in status callbacks (``track``, from ``POST /twilio/status``):
a message it accepted as ``queued`` may end ``failed`` or ``undelivered``. Then 63016 for the
admin sends the approved template instead (the job is reopened as a template); any other failure
is reported, once (a status only moves forward, so the same failure twice is no news).

Reports go to ``report``, the caller's (it usually enqueues a message for the admin). Failures
of messages of kind ``REPORT_KIND`` are only logged: reporting them would report the report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace

from engine.channels.twilio.errors import OUTSIDE_WINDOW, PERMANENT_CODES, SendVerdict, classify, describe
from engine.channels.twilio.sender import Sender, SendResult
from engine.model.jobs import FAILED_STATUSES, DeliveryLog, Job
from engine.runtime.phones import mask, normalise_whatsapp
from engine.service.outbox import REPORT_KIND, Outbox, OutboxItem
from engine.service.retry import RetryPolicy

EARLY_STEP = 0.25
"""Seconds between looks for a message Twilio reports on before its send was recorded."""
TEMPLATE_TEXT_LIMIT = 900
"""Characters of the message carried in the template's variable (WhatsApp caps a parameter)."""


@dataclass(frozen=True)
class Undeliverable:
    """A message the courier gave up on, for the admin's error report."""

    event_id: str
    kind: str
    to: str
    detail: str
    code: int | None
    """Twilio's error code, when it gave one."""
    attempts: int

    def describe(self) -> str:
        """One Spanish line, the number masked."""
        return f"No se pudo enviar el mensaje «{self.kind}» a {mask(self.to)}: {self.detail}."


Report = Callable[[Undeliverable], Awaitable[None]]
"""Where the courier tells of a message it gave up on."""


@dataclass(frozen=True)
class Held:
    """A turn whose message waits to be tried again: its later messages wait behind it."""

    turn: str
    due: float
    retrying: bool


def turn_of(job_id: str) -> str:
    """The turn a job belongs to (``turn:<id>#<n>``, see ``engine.service.buttons``); "" for none."""
    return job_id.partition("#")[0] if job_id.startswith("turn:") else ""


def same_number(a: str, b: str) -> bool:
    return normalise_whatsapp(a) == normalise_whatsapp(b)


def template_variables(item: OutboxItem) -> dict[str, str]:
    """The template's ``{{1}}``: the message on one line (WhatsApp refuses new lines and tabs
    in a template parameter), cut to ``TEMPLATE_TEXT_LIMIT``."""
    text = " · ".join(line.strip() for line in item.body.splitlines() if line.strip()).replace("\t", " ")
    if len(text) > TEMPLATE_TEXT_LIMIT:
        text = text[: TEMPLATE_TEXT_LIMIT - 1] + "…"
    return {"1": text}


class Courier:
    """Delivers the outbox's messages through ``sender``, one worker task per instance (several
    instances share a queue in Redis: a claimed message is hidden from the others for ``lease``)."""

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        policy: RetryPolicy,
        log: logging.Logger,
        report: Report | None = None,
        template_sid: str | None = None,
        template_for: str | None = None,
        keep_days: float = 7.0,
        window_retry: float = 600.0,
        lease: float = 180.0,
        poll: float = 1.0,
        batch: int = 8,
        probe_every: float = 5.0,
        deliveries: DeliveryLog | None = None,
        early_wait: float = 3.0,
    ) -> None:
        self._outbox = outbox
        self._queue = outbox.queue
        self._now = outbox.now
        self._sender = sender
        self._policy = policy
        self._log = log
        self._report = report
        self._template_sid = template_sid
        self._template_for = template_for
        """Whose messages may fall back to the template (the admin's); None: anyone's."""
        self._keep = keep_days * 86400
        self._window_retry = window_retry
        self._lease = lease
        """How long a claimed job stays hidden: longer than a send and its template can take."""
        self._poll = poll
        self._batch = batch
        self._probe_every = probe_every
        """While messages wait after a transient failure, one is tried this often (seconds)."""
        self._deliveries = deliveries
        """Where sent messages are tracked by SID (None: status callbacks are ignored)."""
        self._early_wait = early_wait
        """How long a callback for a SID not recorded yet waits for its send to be recorded: Twilio
        may report a failure before the answer to the send was written down."""
        self._next_probe = 0.0
        self._probes: set[str] = set()
        """Jobs brought forward as probes: their failure is not counted as a try."""
        self._failing = False
        """A transient failure happened since messages were last brought forward."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the worker task (in the app's lifespan)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="courier")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the current sends finish (at most ``grace`` s), then stop the worker. A send cut
        short stays in the queue and goes out after its lease, from this or another instance."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._stopping = True
        self._outbox.news.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        news = self._outbox.news
        while not self._stopping:
            news.clear()
            try:
                handled = await self.round()
            except Exception:  # noqa: BLE001  a bug must not stop every later message; logged loudly
                self._log.exception("❗ Falla en el envío de mensajes pendientes")
                handled = 0
            if handled < self._batch and not self._stopping:
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(news.wait(), self._poll)

    async def round(self) -> int:
        """One round of the worker: a probe when it is time, then ``deliver_due``."""
        now = self._now()
        if now >= self._next_probe:
            self._next_probe = now + self._probe_every
            self._probes.update(await self._queue.hurry(now, 1))
        return await self.deliver_due()

    async def deliver_due(self) -> int:
        """One pass: deliver the jobs due now (up to ``batch``); how many there were. Different
        recipients are served together; one recipient's messages go one after another, in the
        order they were queued, so a conversation forwarded to the admin reads in order. A chain's
        messages (a turn with buttons, the parts of a long message) are handed out by the queue
        one at a time, each once the one before it is finished, so they keep their order across
        rounds and across instances too."""
        jobs = await self._queue.claim(self._now(), self._lease, self._batch)
        by_recipient: dict[str, list[tuple[float, Job]]] = {}
        for job in jobs:
            item = OutboxItem.from_json(job.payload)
            by_recipient.setdefault(item.to, []).append((item.created, job))
        await asyncio.gather(*(self._deliver_in_order(queued) for queued in by_recipient.values()))
        if any(job.chain for job in jobs):
            # The queue hands out one job of a chain at a time (``Job.chain``): the next of each
            # may go now, so the next round comes at once instead of after ``poll``.
            self._outbox.news.set()
        return len(jobs)

    async def _deliver_in_order(self, queued: list[tuple[float, Job]]) -> None:
        held: Held | None = None
        for _, job in sorted(queued, key=lambda pair: pair[0]):
            if held is not None and turn_of(job.id) == held.turn:
                # An earlier message of the same turn waits: this one waits behind it, so the
                # question and its buttons never arrive before the texts that lead to it.
                held = Held(held.turn, held.due + 1e-3, held.retrying)
                await self._queue.reschedule(job.id, job.payload, held.due, retrying=held.retrying)
                continue
            waiting = await self._deliver(job)
            held = Held(turn_of(job.id), *waiting) if waiting is not None and turn_of(job.id) else None

    async def _deliver(self, job: Job) -> tuple[float, bool] | None:
        """Send ``job``; when it waits to be tried again, when it is due and whether it waits
        after a transient failure (None: sent, or given up)."""
        item = OutboxItem.from_json(job.payload)
        if item.content_sid:
            result, item = await self._send_content(item)
        elif item.template and self._template_sid is not None:
            result = await self._attempt(
                self._sender.send_template(item.to, self._template_sid, template_variables(item)))
        else:
            result = await self._attempt(self._sender.send(item.to, item.body))
        if result.verdict is SendVerdict.WINDOW:
            if self._template_for is not None and not same_number(item.to, self._template_for):
                # A customer silent for 24 hours: WhatsApp forbids free text and the approved
                # template is the admin's. Nothing will open that window: report and stop.
                await self._give_up(job.id, item, result)
                return None
            if self._template_sid is None:
                return await self._keep_for_window(job.id, item)
            result = await self._attempt(
                self._sender.send_template(item.to, self._template_sid, template_variables(item))
            )
            if result.sent:
                self._log.info("📤 Plantilla enviada a %s en lugar de «%s» (fuera de las 24 h)", mask(item.to), item.kind)
        if result.sent:
            await self._queue.finish(job.id, self._keep, result.sid)
            self._log.info("📤 Mensaje «%s» enviado a %s (%s)", item.kind, mask(item.to), result.sid)
            if self._failing or job.id in self._probes:  # Twilio is back: nothing waits its back-off
                self._failing = False
                self._probes.discard(job.id)
                hurried = await self._queue.hurry(self._now())
                if hurried:
                    self._log.info("📤 Twilio responde otra vez: %d mensajes en espera salen ya", len(hurried))
                    self._outbox.news.set()
        elif result.verdict is SendVerdict.RETRY:
            return await self._retry(job.id, item, result)
        elif result.verdict is SendVerdict.PERMANENT:
            await self._give_up(job.id, item, result)
        else:  # the template itself hit the window: nothing else to try but later
            return await self._keep_for_window(job.id, item)
        return None

    async def _send_content(self, item: OutboxItem) -> tuple[SendResult, OutboxItem]:
        """A question with buttons or a list: its Content template, or its numbered text when the
        window for the template has passed or Twilio refuses the template for good; the result,
        and the message as it stands (text from then on, if it fell back)."""
        as_text = replace(item, content_sid="", variables=None)
        if item.window_until and self._now() > item.window_until:
            self._log.warning("🔘 Los botones para %s llegan tarde (fuera de las 24 h): va el texto", mask(item.to))
            return await self._attempt(self._sender.send(item.to, item.body)), as_text
        result = await self._attempt(self._sender.send_template(item.to, item.content_sid, item.variables or {}))
        if result.verdict in (SendVerdict.PERMANENT, SendVerdict.WINDOW):
            self._log.warning("🔘 Twilio no aceptó los botones para %s (%s): va el texto numerado",
                              mask(item.to), result.detail)
            return await self._attempt(self._sender.send(item.to, item.body)), as_text
        return result, item

    async def _attempt(self, send: Awaitable[SendResult]) -> SendResult:
        try:
            return await send
        except Exception as error:  # noqa: BLE001  a Sender should not raise: keep the message anyway
            self._log.exception("❗ El envío falló de forma inesperada")
            return SendResult(SendVerdict.RETRY, detail=type(error).__name__)

    async def _retry(self, event_id: str, item: OutboxItem, result: SendResult) -> tuple[float, bool] | None:
        self._failing = True
        if event_id in self._probes:  # a probe brought forward: its own back-off goes on as it was
            self._probes.discard(event_id)
        else:
            item = replace(item, attempts=item.attempts + 1)
        if self._policy.exhausted(item.attempts):
            await self._give_up(event_id, item, result)
            return None
        delay = self._policy.delay(max(1, item.attempts))
        self._log.warning(
            "⏳ Mensaje «%s» para %s no salió (%s); intento %d, otra vez en %.1f s",
            item.kind, mask(item.to), result.detail, item.attempts, delay,
        )
        due = self._now() + delay
        await self._queue.reschedule(event_id, item.to_json(), due, retrying=True)
        return due, True

    async def _keep_for_window(self, event_id: str, item: OutboxItem) -> tuple[float, bool]:
        if not item.window_logged:
            self._log.warning(
                "⚠️ Mensaje «%s» para %s fuera de la ventana de 24 h de WhatsApp y sin ADMIN_TEMPLATE_SID: "
                "queda pendiente hasta que la ventana se abra",
                item.kind, mask(item.to),
            )
        item = replace(item, window_logged=True)
        due = self._now() + self._window_retry
        await self._queue.reschedule(event_id, item.to_json(), due)
        return due, False

    async def _give_up(self, event_id: str, item: OutboxItem, result: SendResult) -> None:
        self._probes.discard(event_id)
        await self._queue.finish(event_id, self._keep)
        await self._tell_failure(event_id, item, result)

    async def track(self, sid: str, status: str, code: int | None) -> str:
        """A status callback: Twilio says message ``sid`` is now ``status`` (``code``: its error);
        what was done, in a word (``ignored``, ``recorded``, ``template``, ``window``, ``reported``)."""
        deliveries = self._deliveries
        if deliveries is None:
            return "ignored"
        tracked = await deliveries.track(sid, status, code)
        waited = 0.0
        while tracked is None and waited < self._early_wait:
            await asyncio.sleep(EARLY_STEP)
            waited += EARLY_STEP
            tracked = await deliveries.track(sid, status, code)
        if tracked is None or not tracked.moved:
            self._log.info("📭 Estado «%s» de un mensaje desconocido, viejo o ya superado: se ignora", status)
            return "ignored"
        item = OutboxItem.from_json(tracked.payload)
        if status not in FAILED_STATUSES:
            self._log.info("📬 Mensaje «%s» para %s: %s", item.kind, mask(item.to), status)
            return "recorded"
        if item.content_sid:  # the buttons did not arrive: the same question as numbered text
            await deliveries.reopen(tracked.id, replace(item, content_sid="", variables=None).to_json(), self._now())
            self._log.warning("🔘 Los botones para %s no llegaron (%s): va el texto numerado", mask(item.to), status)
            self._outbox.news.set()
            return "text"
        for_template = self._template_for is None or same_number(item.to, self._template_for)
        if code == OUTSIDE_WINDOW and for_template and not item.template:
            now = self._now()
            if self._template_sid is not None:
                await deliveries.reopen(tracked.id, replace(item, template=True).to_json(), now)
                self._log.info("📤 «%s» para %s quedó fuera de las 24 h: va la plantilla", item.kind, mask(item.to))
                self._outbox.news.set()
                return "template"
            await deliveries.reopen(tracked.id, item.to_json(), now + self._window_retry)
            await self._keep_for_window(tracked.id, item)
            return "window"
        if code in PERMANENT_CODES or code == OUTSIDE_WINDOW:
            detail = describe(400, code)
        else:
            detail = f"Twilio lo dio por «{status}»" + (f" (error {code})" if code is not None else "")
        await self._tell_failure(tracked.id, item, SendResult(classify(400, code), code=code, detail=detail))
        return "reported"

    async def _tell_failure(self, event_id: str, item: OutboxItem, result: SendResult) -> None:
        failure = Undeliverable(event_id, item.kind, item.to, result.detail, result.code, item.attempts)
        self._log.error("❗ %s", failure.describe())
        if self._report is None or item.kind == REPORT_KIND:
            return
        try:
            await self._report(failure)
        except Exception:  # noqa: BLE001  the caller's report failing must not stop the worker
            self._log.exception("❗ No se pudo reportar el error al encargado")
