"""Opting out and media, end to end: signed webhooks into a real server process, the notices the
service sends on its own through the real twilio client to the local fake of Twilio's API.

"STOP" ends the conversation; while the mark holds, an order update for that customer is not
sent at all; once the customer writes again, it is.
"""

from __future__ import annotations

import httpx
from servicekit import form, post, prefix, replies, wait_for  # noqa: F401  (prefix is a fixture)
from test_orders_service import ADMIN, ANA, ORDER, orders_in, sent_to, server, talk, twilio  # noqa: F401

from engine.service.optouts import OptOuts

CUSTOMER = "+525512345678"


def test_stop_silences_what_the_service_sends_on_its_own_until_the_customer_writes_again(server, twilio, tmp_path):
    talk(server, ORDER)
    assert orders_in(tmp_path)[0][:2] == (1001, CUSTOMER)
    (stopped,) = talk(server, ["STOP"])
    assert any("ya no te escribiremos" in reply for reply in stopped)
    (changed,) = talk(server, ["#preparando 1001"], sender=ADMIN)
    assert "Pedido #1001: preparando" in changed[0]
    talk(server, ["#pedidos"], sender=ADMIN)  # one more round trip: a notice would have gone by now
    assert sent_to(twilio, CUSTOMER) == []
    (back,) = talk(server, ["hola"])  # writing again lifts the mark
    assert any("Bienvenido" in reply for reply in back)
    talk(server, ["#listo 1001"], sender=ADMIN)
    told = wait_for(lambda: sent_to(twilio, CUSTOMER), what="the customer's notice")
    assert told == ["Tu pedido *#1001* está listo 🌮 ¡Pasa por él!"]


def test_a_photo_without_words_is_answered_that_the_bot_reads_text(server):
    with httpx.Client(timeout=10) as client:
        post(client, server.base, form("hola", sender=ANA))
        answer = replies(post(client, server.base, form("", sender=ANA, NumMedia="1")))
    assert any("solo puedo leer texto" in reply for reply in answer)
    assert any("¿Qué te sirvo?" in reply for reply in answer)
    assert not any("no encontré" in reply for reply in answer)


def test_the_mark_is_one_key_per_customer_in_both_spellings_of_a_mexican_number():
    assert OptOuts.key("whatsapp:+5215512345678") == OptOuts.key("+525512345678")
