"""Spanish: what the engine understands and says when ``restaurant.yaml`` says ``language: es``."""

from __future__ import annotations

from engine.languages.language import Language, OpeningPhrases

ES = Language(
    code="es",
    yes=("sí", "si", "ok", "okay", "va", "vale", "sale", "claro", "dale", "correcto", "de acuerdo", "confirmo",
         "👍", "👌", "✅"),
    no=("no", "nop", "nope", "para nada", "mejor no", "👎", "❌"),
    done=("listo", "es todo", "eso es todo", "nada más", "ya", "ya es todo", "terminar", "nada"),
    greeting=("hola", "buenas", "buen día", "buenos días", "buenas tardes", "buenas noches", "qué tal", "hey"),
    filler=tuple(
        "a al algo con de del el en la las le lo los me mi para por porfa porfavor favor quiero quisiera dame "
        "deme manda mandame regalame traeme ponme agrega agregame y e tambien otro otra otros otras unos unas".split()
    ),
    remove=("quitar", "quita", "quitale", "borrar", "borra", "eliminar", "elimina", "sin el"),
    separators=("y",),
    numbers={
        "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
        "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
        "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
        "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "treinta": 30, "cuarenta": 40,
        "cincuenta": 50, "sesenta": 60, "cien": 100, "docena": 12, "media docena": 6,
    },
    weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    months=("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre"),
    clock="24h",
    day_halves=("a. m.", "p. m."),
    opening=OpeningPhrases(
        today="abrimos hoy a las {time}",
        tomorrow="abrimos mañana a las {time}",
        weekday="abrimos el {weekday} a las {time}",
        date="abrimos el {day} de {month} a las {time}",
        unknown="por ahora no tenemos fecha de apertura",
    ),
    statuses={
        "nuevo": "nuevo", "preparando": "preparando", "listo": "listo", "entregado": "entregado",
        "cancelado": "cancelado",
    },
    admin_commands={
        "orders": ("pedidos",),
        "order": ("pedido",),
        "preparing": ("preparando",),
        "ready": ("listo",),
        "delivered": ("entregado",),
        "cancel": ("cancelar",),
        "close": ("cerrar",),
        "open": ("abrir",),
        "sold_out": ("agotado",),
        "available": ("disponible",),
        "take": ("tomar",),
        "release": ("soltar",),
        "reply": ("responder",),
        "help": ("ayuda",),
    },
    apology="Perdón, algo falló. Intenta de nuevo en un momento.",
)
