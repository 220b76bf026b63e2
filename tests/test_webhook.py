"""Reading Twilio's form: fields, refusals, location, and the URL the signature covers."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from servicekit import Server, wait_for
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from engine.channels.twilio.inbound import (
    MAX_LABEL,
    MAX_PROFILE,
    MAX_TEXT,
    Refused,
    parse_form,
    public_url,
    read_body,
    read_delivery,
    signed,
)
from engine.model.inbound import Location

FORM = "application/x-www-form-urlencoded"
ANA = "From=whatsapp%3A%2B5215512345678"


def delivery_of(**fields: str) -> Any:
    """The delivery read from Ana's message with ``fields`` (urlencoded as Twilio does)."""
    extra = "".join(f"&{name}={quote(value, safe='')}" for name, value in fields.items())
    return read_delivery(parse_form((ANA + extra).encode(), FORM))


def test_twilio_fields_become_a_message_and_unknown_fields_are_ignored():
    form = parse_form(
        b"From=whatsapp%3A%2B5215512345678&WaId=5215512345678&ProfileName=Ana&Body=3+pastor"
        b"&MessageSid=SM1&NumMedia=0&SmsStatus=received&ApiVersion=2010-04-01&Whatever=x",
        FORM,
    )
    delivery = read_delivery(form)
    assert delivery.sender == "whatsapp:+5215512345678"
    assert delivery.inbound.customer == "+525512345678"
    assert delivery.inbound.text == "3 pastor"
    assert delivery.inbound.profile_name == "Ana"
    assert delivery.message_sid == "SM1"
    assert delivery.inbound.location is None


def test_a_location_pin_with_its_label():
    form = parse_form(
        b"From=whatsapp%3A%2B525512345678&Latitude=19.4326&Longitude=-99.1332&Label=Casa&Address=Reforma+1",
        FORM,
    )
    assert read_delivery(form).inbound.location == Location(19.4326, -99.1332, "Casa, Reforma 1")


@pytest.mark.parametrize("lat, lon", [("91", "0"), ("nan", "1"), ("x", "1"), ("", "")])
def test_an_impossible_location_is_ignored(lat, lon):
    form = parse_form(f"From=%2B525512345678&Latitude={lat}&Longitude={lon}".encode(), FORM)
    assert read_delivery(form).inbound.location is None


def test_a_button_answer_counts_as_text():
    form = parse_form(b"From=%2B525512345678&Body=&ButtonText=S%C3%AD&ButtonPayload=yes", FORM)
    assert read_delivery(form).inbound.text == "Sí"


def test_a_huge_text_is_cut_to_what_whatsapp_allows():
    form = parse_form(b"From=%2B525512345678&Body=" + b"a" * 10_000, FORM)
    assert len(read_delivery(form).inbound.text) == MAX_TEXT


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"From=%2B525512345678&Body=hola", "application/json"),
        (b"From=%2B525512345678&Body=%FF%FE", FORM),
        (b"\xff\xfe=1", FORM),
        (b"From&&Body", FORM),
        (b"Body=sin+remitente", FORM),
        (b"From=no-es-un-numero&Body=hola", FORM),
    ],
)
def test_malformed_requests_are_refused_with_400(body, content_type):
    with pytest.raises(Refused) as refused:
        read_delivery(parse_form(body, content_type))
    assert refused.value.status == 400


def request(path: str, query: bytes = b"") -> Request:
    return Request({
        "type": "http", "method": "POST", "scheme": "http", "server": ("10.0.0.7", 10000),
        "path": path, "raw_path": path.encode(), "query_string": query, "headers": [(b"host", b"10.0.0.7:10000")],
    })


def test_the_signed_url_is_the_public_one_behind_a_proxy():
    assert public_url(request("/webhook", b"a=1&b=2"), "https://bot.example.com") == "https://bot.example.com/webhook?a=1&b=2"
    assert public_url(request("/webhook"), "https://bot.example.com") == "https://bot.example.com/webhook"
    assert public_url(request("/webhook"), None) == "http://10.0.0.7:10000/webhook"


def test_the_signature_verdict_is_twilios():
    validator = RequestValidator("token")
    forms = [
        parse_form(b"From=whatsapp%3A%2B5215512345678&Body=hola+%C3%B1&MessageSid=SM1&NumMedia=0", FORM),
        parse_form(b"Body=a&Body=b&Body=a&Empty=", FORM),
        parse_form(b"", FORM),
    ]
    urls = ["https://bot.example.com/webhook", "https://bot.example.com:443/webhook?x=1", "http://10.0.0.7:10000/webhook"]
    for form in forms:
        for url in urls:
            for algorithm in (None, "HMAC_SHA256", "HMAC_MD5"):
                for signed_url in (url, url.replace(":443", "").replace("com/", "com:443/")):
                    try:
                        good = validator.compute_signature(signed_url, form, algorithm)
                    except ValueError:  # an algorithm twilio does not know
                        good = "whatever"
                    for signature in (good, good[:-2] + "==", "", "ñ"):
                        headers = [(b"x-twilio-signature", signature.encode())]
                        if algorithm:
                            headers.append((b"x-twilio-webhooks-signature-settings", f"key=k,algorithm={algorithm}".encode()))
                        mine = signed(validator, Request({"type": "http", "headers": headers}), url, form)
                        assert mine == (bool(signature) and validator.validate(url, form, signature, algorithm))


def test_characters_xml_cannot_hold_never_reach_a_reply():
    form = parse_form(b"From=%2B525512345678&Body=Ana%0BL%C3%B3pez%00%0Acalle%095", FORM)
    text = read_delivery(form).inbound.text
    assert text == "AnaLópez\ncalle\t5"  # new lines and tabs are text; \x0b and \x00 would break TwiML


@pytest.mark.parametrize("count", ["²", "①", "٣", "-0", "+1", "1e3", "1e309", "nan", "0x1", "9" * 5000, " ", "1 2"])
def test_a_media_count_that_is_not_plain_digits_counts_as_none(count):
    assert delivery_of(NumMedia=count).media == 0


@pytest.mark.parametrize("count, media", [("0", 0), ("3", 3), (" 2 ", 2), ("10", 10)])
def test_a_media_count_in_digits_is_read(count, media):
    assert delivery_of(NumMedia=count).media == media


@pytest.mark.parametrize(
    "lat, lon",
    [("1e309", "1"), ("1e1", "1"), ("inf", "1"), ("-inf", "1"), ("١٩.٤", "-99.1"), ("19.4", "-٩٩"),
     ("19_4", "1"), ("19.4", ""), ("", "-99.1"), ("0x10", "1"), ("19.4.1", "1"), ("9" * 400, "1"), ("19", "181")],
)
def test_a_coordinate_that_is_not_a_plain_decimal_in_range_means_no_location(lat, lon):
    assert delivery_of(Latitude=lat, Longitude=lon).inbound.location is None


def test_plain_decimals_are_a_location_and_minus_zero_is_zero():
    location = delivery_of(Latitude="-0", Longitude=" +0.0 ").inbound.location
    assert location == Location(0.0, 0.0, None)
    assert location.describe() == "📍 0.00000, 0.00000"
    assert delivery_of(Latitude="-90", Longitude="180").inbound.location == Location(-90.0, 180.0, None)


def test_control_characters_leave_every_field_that_is_echoed():
    delivery = delivery_of(
        ProfileName="Ana\x00 \x1b[31mLópez\ufffe\n\tGarcía\x0c", Body="hola\x01\r\nquiero\x7f\ttacos\x08",
        Latitude="19.4326", Longitude="-99.1332", Label="Casa\x0b\x1f de\r\nAna", Address="\x00Reforma\uffff 1",
    )
    assert delivery.inbound.profile_name == "Ana [31mLópez García"
    assert delivery.inbound.text == "hola\nquiero\x7f\ttacos"  # \x7f is XML text; new lines and tabs stay
    assert delivery.inbound.location.label == "Casa de Ana, Reforma 1"


def test_a_field_of_nothing_but_what_xml_cannot_hold_is_absent():
    delivery = delivery_of(ProfileName="\x00\x01 \x02", Body="\x00", ButtonText="Sí\x00")
    assert delivery.inbound.profile_name is None
    assert delivery.inbound.text == "Sí"  # the body had nothing: the button's answer counts


def test_oversized_fields_are_bounded():
    delivery = delivery_of(
        ProfileName="ñ" * 5000, Body="\x00" * 3000 + "a" * 10_000, Latitude="1", Longitude="2",
        Label="L" * 5000, Address="A" * 5000,
    )
    assert delivery.inbound.profile_name == "ñ" * MAX_PROFILE
    assert delivery.inbound.text == "a" * MAX_TEXT  # counted after what XML cannot hold is gone
    assert delivery.inbound.location.label == "L" * MAX_LABEL


@pytest.mark.parametrize(
    "sender",
    ["whatsapp:+5215512345678\x00", "whatsapp:\x1f+5215512345678", "whatsapp:\x0b+5215512345678",
     "whatsapp: +5215512345678", "WhatsApp:+5215512345678", "whatsapp:+52155١٢٣٤٥٦٧٨", "whatsapp:5215512345678",
     "whatsapp:+0215512345678", "whatsapp:+1234", "whatsapp:+" + "1" * 16, "sms:+5215512345678",
     "whatsapp:+52155<x>12345", "messenger:ana"],
)
def test_a_sender_that_is_not_a_whatsapp_address_is_refused_with_400(sender):
    with pytest.raises(Refused) as refused:
        read_delivery(parse_form(f"From={quote(sender, safe='')}&Body=hola".encode(), FORM))
    assert refused.value.status == 400
    assert "From" in refused.value.reason


@pytest.mark.parametrize("sender", ["whatsapp:+5215512345678", "+5215512345678", " whatsapp:+5215512345678\r\n"])
def test_a_whatsapp_address_is_the_sender_exactly_and_normalised_as_the_customer(sender):
    delivery = read_delivery(parse_form(f"From={quote(sender, safe='')}".encode(), FORM))
    assert delivery.sender == sender.strip()
    assert delivery.inbound.customer == "+525512345678"


@pytest.mark.parametrize("sid", ["SM1\x00", "SM 1", "SM<1>", "SMñ", "SM" + "a" * 63])
def test_a_message_sid_that_cannot_be_one_is_refused(sid):
    with pytest.raises(Refused) as refused:
        delivery_of(MessageSid=sid)
    assert (refused.value.status, refused.value.reason) == (400, "MessageSid inválido")


@pytest.mark.parametrize("field", ["From", "Body", "MessageSid", "NumMedia", "Latitude", "ProfileName", "ButtonText"])
def test_a_field_the_bot_reads_given_twice_is_refused_naming_it(field):
    once = "Body=hola&ButtonText=Sí&MessageSid=SM1&NumMedia=0&Latitude=1&Longitude=2&ProfileName=Ana"
    body = f"{ANA}&{once}&{field}=otra"
    with pytest.raises(Refused) as refused:
        read_delivery(parse_form(body.encode(), FORM))
    assert (refused.value.status, refused.value.reason) == (400, f"Campo repetido: {field}")


def test_the_same_field_twice_with_the_same_value_is_refused_too():
    with pytest.raises(Refused, match="Campo repetido: Body"):
        read_delivery(parse_form(f"{ANA}&Body=hola&Body=hola".encode(), FORM))


def test_unknown_fields_may_repeat():
    delivery = read_delivery(parse_form(f"{ANA}&Body=hola&MediaUrl0=a&MediaUrl0=b&Whatever=&Whatever=".encode(), FORM))
    assert delivery.inbound.text == "hola"


def streamed(chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None, disconnect: bool = False,
             ) -> Request:
    """A request whose body arrives in ``chunks``; then the client hangs up when ``disconnect``."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": disconnect or i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers or []}, receive)


async def body_of(request: Request, limit: int = 1000) -> bytes:
    return await read_body(request, limit)


def refusal(request: Request, limit: int = 1000) -> Refused:
    with pytest.raises(Refused) as refused:
        anyio.run(body_of, request, limit)
    return refused.value


def test_the_body_is_read_in_chunks_within_its_limit():
    assert anyio.run(body_of, streamed([b"From=", b"%2B52", b""])) == b"From=%2B52"
    assert refusal(streamed([b"a" * 600, b"a" * 600])).status == 413
    assert refusal(streamed([b""], [(b"content-length", b"1001")])).status == 413
    assert refusal(streamed([b""], [(b"content-length", b"9" * 5000)])).status == 413


@pytest.mark.parametrize("declared", ["²", "①", "٣", "-1", "1e3", "", " 1"])
def test_a_content_length_that_is_not_ascii_digits_is_refused_with_400(declared):
    assert refusal(streamed([b"x"], [(b"content-length", declared.encode())])).status == 400


def test_a_client_hanging_up_mid_body_is_a_400_with_one_line_to_log():
    refused = refusal(streamed([b"From=whats"], disconnect=True))
    assert refused.status == 400
    assert refused.log is not None and "\n" not in refused.log and "10 bytes" in refused.log


def test_a_real_server_logs_a_client_hanging_up_mid_body_in_one_quiet_line(tmp_path: Path):
    server = Server(tmp_path, {}).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(
                b"POST /webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nFrom=whatsapp%3A%2B52"
            )
        line = wait_for(
            lambda: [entry for entry in server.log().splitlines() if "cerró la conexión" in entry],
            what="the disconnect to be logged",
        )
        server.kill()
        log = server.log()
        assert len(line) == 1 and " INFO " in line[0]
        assert "Traceback" not in log and "ERROR" not in log, log
    finally:
        server.kill()
