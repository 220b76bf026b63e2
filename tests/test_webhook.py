"""Reading Twilio's form: fields, refusals, location, and the URL the signature covers."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from engine.channels.twilio.inbound import (
    MAX_TEXT,
    Refused,
    parse_form,
    public_url,
    read_delivery,
    signed,
)
from engine.model.inbound import Location

FORM = "application/x-www-form-urlencoded"


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
