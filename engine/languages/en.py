"""English: what the engine understands and says when ``restaurant.yaml`` says ``language: en``."""

from __future__ import annotations

from engine.languages.language import Language, OpeningPhrases

EN = Language(
    code="en",
    yes=("yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "confirm", "sounds good", "go ahead",
         "👍", "👌", "✅"),
    no=("no", "nope", "nah", "no thanks", "not really", "👎", "❌"),
    done=("done", "that's all", "thats all", "that's it", "thats it", "nothing else", "nothing more", "finish",
          "checkout", "nothing"),
    greeting=("hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening"),
    filler=tuple("a an the of with and in on for my some please pls i want would like to get can have me".split()),
    remove=("remove", "delete", "take off", "take out", "drop", "cancel the"),
    separators=("and", "plus"),
    numbers={
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
        "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
        "fifty": 50, "a couple": 2, "a couple of": 2, "dozen": 12, "a dozen": 12, "half a dozen": 6,
    },
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December"),
    clock="12h",
    day_halves=("am", "pm"),
    opening=OpeningPhrases(
        today="we open today at {time}",
        tomorrow="we open tomorrow at {time}",
        weekday="we open on {weekday} at {time}",
        date="we open on {month} {day} at {time}",
        unknown="we have no opening date yet",
    ),
    statuses={
        "nuevo": "new", "preparando": "preparing", "listo": "ready", "entregado": "delivered",
        "cancelado": "cancelled",
    },
    admin_commands={
        "orders": ("orders",),
        "order": ("order",),
        "preparing": ("preparing",),
        "ready": ("ready",),
        "delivered": ("delivered",),
        "cancel": ("cancel",),
        "close": ("close",),
        "open": ("open",),
        "sold_out": ("soldout", "86"),
        "available": ("available",),
        "take": ("take",),
        "release": ("release",),
        "reply": ("reply",),
        "help": ("help",),
    },
    apology="Sorry, something went wrong. Please try again in a moment.",
)
