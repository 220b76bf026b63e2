"""The buttons and lists checks, one mistake at a time, at their lines (see ``test_checks``).

Every problem here is a warning: a question that does not fit WhatsApp's buttons or lists still
works, as numbered text. Each test breaks one thing in a copy of the real flows and looks at the
one warning it gives, where it points and what it says; the fix it suggests is then applied and
the warning goes away.
"""

from __future__ import annotations

from pathlib import Path

from test_checks import assert_problem, copy_flows, describe, edit, only, position

from engine.loading.checks.buttons import (
    ButtonBodyTooLong,
    ButtonTitleTooLong,
    ListDescriptionTooLong,
    ListTitleTooLong,
    SameButtonTitle,
    TooManyOptions,
)
from engine.loading.pipeline import inspect

ROOT = Path(__file__).resolve().parent.parent


def clean(folder: Path) -> None:
    problems = inspect(folder).problems
    assert problems == [], describe(problems)


def test_a_button_title_over_20_characters(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: a domicilio\n", "        name: a domicilio, hasta tu casa\n")
    p = only(folder)
    assert_problem(
        p, ButtonTitleTooLong, folder, "order.yaml",
        position(folder, "order.yaml", "        name: a domicilio, hasta tu casa\n", at="a domicilio"),
        "order.yaml › steps › entrega › choices › [2] › name",
        "La opción «A domicilio, hasta tu casa» de «entrega» tiene 26 caracteres; en un botón de WhatsApp caben 20.",
        "Escribe un «title:» más corto para esa opción",
    )
    assert p.severity == "warning"
    assert inspect(folder).flows is not None  # a warning: the flows still load
    assert "'A domicilio, hasta tu casa' of 'entrega' has 26 characters; a WhatsApp button holds 20." in p.message("en")
    # The fix it suggests: a short title; the name stays what the messages say.
    edit(folder, "order.yaml", "        name: a domicilio, hasta tu casa\n",
         "        name: a domicilio, hasta tu casa\n        title: A domicilio\n")
    clean(folder)


def test_a_title_written_too_long_is_pointed_at_where_it_is_written(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: efectivo\n", "        name: efectivo\n        title: Efectivo al recibirlo\n")
    p = only(folder)
    assert_problem(
        p, ButtonTitleTooLong, folder, "order.yaml",
        position(folder, "order.yaml", "        title: Efectivo al recibirlo\n", at="Efectivo"),
        "order.yaml › steps › pago › choices › [1] › title",
        "La opción «Efectivo al recibirlo» de «pago» tiene 21 caracteres",
        "o «buttons: false» en «pago»",
    )


def test_buttons_false_turns_a_question_to_text_and_its_warnings_off(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: a domicilio\n", "        name: a domicilio, hasta tu casa\n")
    edit(folder, "order.yaml", "    ask: ask_fulfilment\n", "    ask: ask_fulfilment\n    buttons: false\n")
    clean(folder)


def test_the_price_a_menu_option_adds_counts_in_its_title(tmp_path: Path) -> None:
    # "Harina de trigo" fits, but its button reads "Harina de trigo (+$15)" for the order of 5 tacos.
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "        name: harina\n", "        name: harina\n        title: Harina de trigo\n")
    p = only(folder)
    assert_problem(
        p, ButtonTitleTooLong, folder, "menu.yaml",
        position(folder, "menu.yaml", "        title: Harina de trigo\n", at="Harina"),
        "menu.yaml › options › tortilla › choices › [2] › title",
        "La opción «Harina de trigo (+$15)» de «tortilla» tiene 22 caracteres",
        "«buttons: false» en «tortilla»",
    )
    edit(folder, "menu.yaml", "    question: ¿Tortilla de maíz o de harina?\n",
         "    question: ¿Tortilla de maíz o de harina?\n    buttons: false\n")
    clean(folder)


def test_a_yes_button_written_too_long(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    ask: order_summary\n", "    ask: order_summary\n    yes_title: Sí, confirmo mi pedido\n")
    p = only(folder)
    assert_problem(
        p, ButtonTitleTooLong, folder, "order.yaml",
        position(folder, "order.yaml", "    yes_title: Sí, confirmo mi pedido\n", at="Sí"),
        "order.yaml › steps › confirmar › yes_title",
        "La opción «Sí, confirmo mi pedido» de «confirmar» tiene 22 caracteres",
        "Escribe un «title:» más corto",
    )
    edit(folder, "order.yaml", "    yes_title: Sí, confirmo mi pedido\n", "    yes_title: Sí, confirmo\n")
    clean(folder)


def test_a_list_item_over_24_characters(tmp_path: Path) -> None:
    # corregir has four options: a list, where 24 characters fit (and 20 would not matter).
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: nada, así está bien\n", "        name: nada, así está perfecto, gracias\n")
    p = only(folder)
    assert_problem(
        p, ListTitleTooLong, folder, "order.yaml",
        position(folder, "order.yaml", "        name: nada, así está perfecto, gracias\n", at="nada"),
        "order.yaml › steps › corregir › choices › [4] › name",
        "La opción «Nada, así está perfecto, gracias» de «corregir» tiene 32 caracteres; en una lista de WhatsApp caben 24.",
        "Escribe un «title:» más corto",
    )


def test_a_list_item_of_23_characters_fits_where_a_button_would_not(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: nada, así está bien\n", "        name: nada, así está perfecto\n")
    clean(folder)


def test_a_list_description_over_72_characters(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    long = "agregar, quitar o cambiar cualquiera de los platillos que ya están en tu pedido"
    edit(folder, "order.yaml", "        name: platillos\n", f"        name: platillos\n        description: {long}\n")
    p = only(folder)
    assert_problem(
        p, ListDescriptionTooLong, folder, "order.yaml",
        position(folder, "order.yaml", f"        description: {long}\n", at="agregar"),
        "order.yaml › steps › corregir › choices › [1] › description",
        f"La descripción de «Platillos» en «corregir» tiene {len(long)} caracteres; en una lista de WhatsApp caben 72.",
        "Acórtala a 72 caracteres o bórrala.",
    )
    edit(folder, "order.yaml", f"        description: {long}\n", "        description: agregar, quitar o cambiar platillos\n")
    clean(folder)


def test_more_options_than_a_list_holds(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    extra = "".join(
        f"      - id: otro_{n}\n        name: otra cosa {n}\n        go: confirmar\n" for n in range(1, 8)
    )
    edit(folder, "order.yaml", "      - id: nada\n", extra + "      - id: nada\n")
    p = only(folder)
    assert_problem(
        p, TooManyOptions, folder, "order.yaml",
        position(folder, "order.yaml", "      - id: platillos\n", at="-"),
        "order.yaml › steps › corregir › choices",
        "«corregir» tiene 11 opciones; una lista de WhatsApp muestra hasta 10, así que irán como texto numerado.",
        "Déjalas en 10 o menos (o divide la pregunta en dos pasos); si así está bien, escribe «buttons: false» en «corregir».",
    )
    edit(folder, "order.yaml", "    ask: ask_change\n", "    ask: ask_change\n    buttons: false\n")
    clean(folder)


def test_two_options_that_would_look_the_same(tmp_path: Path) -> None:
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        name: transferencia\n", "        name: transferencia\n        title: Tarjeta\n")
    p = only(folder)
    assert_problem(
        p, SameButtonTitle, folder, "order.yaml",
        position(folder, "order.yaml", "        title: Tarjeta\n", at="Tarjeta"),
        "order.yaml › steps › pago › choices › [3] › title",
        "Dos opciones de «pago» se verían igual: «Tarjeta»; WhatsApp no acepta botones repetidos.",
        "Dale a cada una un «title:» distinto.",
    )


def test_the_text_that_asks_over_1024_characters(tmp_path: Path) -> None:
    # Under WhatsApp's 1,600 for a text, over the 1,024 a message with buttons can carry.
    folder = copy_flows(tmp_path)
    padding = "Aceptamos todas las formas de pago que ves abajo, con gusto. " * 18
    edit(folder, "messages.yaml", "  ¿Cómo vas a pagar?\n", f"  {padding}¿Cómo vas a pagar?\n")
    p = only(folder)
    assert_problem(
        p, ButtonBodyTooLong, folder, "messages.yaml",
        position(folder, "messages.yaml", "\nask_payment: |-\n", at="|"),
        "messages.yaml › ask_payment",
        "El mensaje «ask_payment» puede llegar a",
        "Acórtalo (con un pedido largo se pasa), o escribe «buttons: false» en «pago».",
    )
    assert 1024 < int(p.details["length"]) <= 1600
    assert "con botones o lista WhatsApp acepta hasta 1024" in p.message("es")
    edit(folder, "order.yaml", "    ask: ask_payment\n", "    ask: ask_payment\n    buttons: false\n")
    clean(folder)


def test_the_text_that_asks_is_judged_at_its_longest(tmp_path: Path) -> None:
    # The resume offer lists the cart: short as written, too long with a big order.
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  {% for line in cart.lines %}• {{ line.description }}\n  {% endfor %}¿Retomamos",
         "  {% for line in cart.lines %}• {{ line.description }} ({{ line.total | money }}), preparado al momento tal como lo dejaste\n"
         "  {% endfor %}¿Retomamos")
    p = only(folder)
    assert type(p) is ButtonBodyTooLong, describe([p])
    assert p.where() == "messages.yaml › resume_offer"
    assert "«retomar»" in p.message("es")


def test_the_example_restaurant_fits_its_buttons() -> None:
    loaded = inspect(ROOT / "examples" / "nonna-rosa" / "flows")
    assert loaded.problems == [], describe(loaded.problems)
