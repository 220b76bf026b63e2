"""Meaning checks: every kind of mistake an editor can make in the flows, one test each.

Each test copies the real ``flows/`` folder, breaks one thing with a small textual edit, runs
the loading pipeline and checks the problem: its kind, file, line and column (computed from the
edited text), its place in the file and its Spanish text and fix. The real flows are never
touched.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import shutil
from pathlib import Path

import pytest

from engine.loading import checks
from engine.loading.checks.answers import BadFulfilment, MissingAnswer
from engine.loading.checks.conditions import BadCondition, UnknownChoiceValue
from engine.loading.checks.hours import (
    BadDate,
    ClosesBeforeOpening,
    OpensAndClosesAtOnce,
    OverlappingHours,
    UnknownTimezone,
)
from engine.loading.checks.menu import DuplicateId, UnknownChoice, UnknownOptionGroup
from engine.loading.checks.messages import (
    MissingBuiltinMessage,
    UnknownMessage,
    UnusedMessage,
)
from engine.loading.checks.paths import EndlessLoop, NoWayOut, UnreachableStep
from engine.loading.checks.targets import (
    BranchAfterDefault,
    ChoiceWithoutTarget,
    NoDefaultBranch,
    UnknownStep,
)
from engine.loading.checks.templates import (
    MessageTooLong,
    TemplateSyntax,
    TemplateValue,
    UnclosedBlock,
    UnknownAttribute,
    UnknownFilter,
    UnknownVariable,
)
from engine.loading.pipeline import inspect, load_flows
from engine.loading.problems import FlowErrors, FlowProblem

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"


# ------------------------------------------------------------------ helpers


def copy_flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def edit(folder: Path, name: str, old: str, new: str, after: str | None = None) -> None:
    """Replace ``old`` with ``new`` in one file: the only occurrence, or the first after ``after``."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    if after is None:
        assert text.count(old) == 1, f"{old!r} should appear exactly once in {name}"
        start = 0
    else:
        assert text.count(after) == 1, f"{after!r} should appear exactly once in {name}"
        start = text.index(after)
    at = text.find(old, start)
    assert at != -1, f"{old!r} not found in {name}"
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


def position(folder: Path, name: str, fragment: str, at: str | None = None, after: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``fragment`` (or of ``at`` inside it) in the edited file."""
    text = (folder / name).read_text(encoding="utf-8")
    start = text.index(after) if after is not None else 0
    index = text.index(fragment, start)
    if at is not None:
        index += fragment.index(at)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def line_text(folder: Path, name: str, line: int) -> str:
    return (folder / name).read_text(encoding="utf-8").splitlines()[line - 1]


def describe(problems: list[FlowProblem]) -> str:
    return "\n".join(f"{type(p).__name__} {p.location()} {p.where()}: {p.render('es')}" for p in problems)


def only(folder: Path) -> FlowProblem:
    """The one problem the edited flows have (one mistake gives exactly one problem)."""
    problems = inspect(folder).problems
    assert len(problems) == 1, describe(problems)
    return problems[0]


def assert_problem(
    p: FlowProblem,
    kind: type[FlowProblem],
    folder: Path,
    name: str,
    where: tuple[int, int],
    breadcrumb: str,
    message: str,
    hint: str,
) -> None:
    assert type(p) is kind, describe([p])
    assert Path(p.file).resolve() == (folder / name).resolve()
    assert p.file.endswith(name)
    assert (p.line, p.column) == where, describe([p])
    assert p.where() == breadcrumb
    assert message in p.message("es"), p.message("es")
    assert hint in p.hint("es"), p.hint("es")


# ------------------------------------------------------------------ the shipped flows


def test_shipped_flows_have_no_errors_and_no_warnings():
    loaded = inspect(FLOWS)
    assert loaded.problems == [], describe(loaded.problems)
    assert loaded.flows is not None
    assert load_flows(FLOWS) is not None


def test_copy_of_the_shipped_flows_is_clean(tmp_path):
    folder = copy_flows(tmp_path)
    loaded = inspect(folder)
    assert loaded.problems == [], describe(loaded.problems)


# ------------------------------------------------------------------ steps and targets


def test_unknown_step_in_next(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    next: contacto\n", "    next: contato\n")
    p = only(folder)
    assert_problem(
        p, UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "    next: contato\n", at="contato"),
        "order.yaml › steps › direccion › next",
        "El paso «contato» no existe",
        "¿Quisiste decir «contacto»?",
    )
    assert "«end» para terminar" in p.hint("es")
    assert p.step == "direccion"


def test_unknown_step_in_a_branch_go(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "      - go: contacto\n", "      - go: contactos\n")
    p = only(folder)
    assert_problem(
        p, UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "      - go: contactos\n", at="contactos"),
        "order.yaml › steps › nombre › next › [2] › go",
        "El paso «contactos» no existe",
        "¿Quisiste decir «contacto»?",
    )


def test_unknown_step_in_a_conditional_branch(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        go: direccion\n", "        go: direcion\n")
    problems = inspect(folder).problems
    unknown = [p for p in problems if isinstance(p, UnknownStep)]
    assert len(unknown) == 1, describe(problems)
    p = unknown[0]
    assert_problem(
        p, UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "        go: direcion\n", at="direcion"),
        "order.yaml › steps › nombre › next › [1] › go",
        "El paso «direcion» no existe",
        "¿Quisiste decir «direccion»?",
    )


def test_unknown_step_in_a_choice_go(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        go: entrega\n", "        go: entregas\n")
    p = only(folder)
    assert_problem(
        p, UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "        go: entregas\n", at="entregas"),
        "order.yaml › steps › corregir › choices › [2] › go",
        "El paso «entregas» no existe",
        "¿Quisiste decir «entrega»?",
    )


def test_unknown_step_in_a_command(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    go: humano\n", "    go: humanos\n")
    problems = inspect(folder).problems
    unknown = [p for p in problems if isinstance(p, UnknownStep)]
    assert len(unknown) == 1, describe(problems)
    assert_problem(
        unknown[0], UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "    go: humanos\n", at="humanos"),
        "order.yaml › commands › [5] › go",
        "El paso «humanos» no existe",
        "¿Quisiste decir «humano»?",
    )


def test_unknown_start_step(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "start: inicio\n", "start: incio\n")
    problems = inspect(folder).problems
    unknown = [p for p in problems if isinstance(p, UnknownStep)]
    assert len(unknown) == 1, describe(problems)
    assert_problem(
        unknown[0], UnknownStep, folder, "order.yaml",
        position(folder, "order.yaml", "start: incio\n", at="incio"),
        "order.yaml › start",
        "El paso «incio» no existe",
        "¿Quisiste decir «inicio»?",
    )


def test_unreachable_step(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", '    "no": descartar\n', '    "no": bienvenida\n')
    p = only(folder)
    assert_problem(
        p, UnreachableStep, folder, "order.yaml",
        position(folder, "order.yaml", "  descartar:\n", at="descartar"),
        "order.yaml › steps › descartar",
        "Ningún paso lleva al paso «descartar»",
        "Agrégalo como «next» de otro paso o bórralo",
    )


def test_step_with_no_way_out(tmp_path):
    folder = copy_flows(tmp_path)
    # The address step asks again and again, forever.
    edit(folder, "order.yaml", "    next: contacto\n", "    next: direccion\n")
    p = only(folder)
    assert_problem(
        p, NoWayOut, folder, "order.yaml",
        position(folder, "order.yaml", "  direccion:\n", at="direccion"),
        "order.yaml › steps › direccion",
        "Desde «direccion» la conversación nunca llega a «end»",
        "termine en «end»",
    )


def test_endless_loop_of_message_steps(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    say: welcome\n    next: pedir\n", "    say: welcome\n    next: inicio\n")
    p = only(folder)
    assert type(p) is EndlessLoop, describe([p])
    line, column = position(folder, "order.yaml", "  inicio:\n", at="inicio")
    line_b, column_b = position(folder, "order.yaml", "  bienvenida:\n", at="bienvenida")
    # Pointing at either step of the loop is right.
    assert (p.line, p.column) in ((line, column), (line_b, column_b)), describe([p])
    assert p.where() in ("order.yaml › steps › inicio", "order.yaml › steps › bienvenida")
    assert p.file.endswith("order.yaml")
    assert "«inicio»" in p.message("es") and "«bienvenida»" in p.message("es")
    assert "sin hacer ninguna pregunta" in p.message("es")
    assert "Pon un paso que pregunte algo" in p.hint("es")


def test_branches_without_default(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "        go: retomar\n      - go: bienvenida\n", "        go: retomar\n")
    p = only(folder)
    assert_problem(
        p, NoDefaultBranch, folder, "order.yaml",
        position(folder, "order.yaml", "      - if: not open\n", at="-", after="  inicio:\n"),
        "order.yaml › steps › inicio › next",
        "le falta el camino por omisión",
        "Termina la lista con un camino sin «if»",
    )


def test_branch_after_the_default(tmp_path):
    folder = copy_flows(tmp_path)
    edit(
        folder, "order.yaml",
        '      - if: order.fulfilment == "delivery"\n        go: direccion\n      - go: contacto\n',
        '      - go: contacto\n      - if: order.fulfilment == "delivery"\n        go: direccion\n',
    )
    p = only(folder)
    assert_problem(
        p, BranchAfterDefault, folder, "order.yaml",
        position(folder, "order.yaml", '      - if: order.fulfilment == "delivery"\n        go: direccion', at="if"),
        "order.yaml › steps › nombre › next › [2]",
        "Este camino nunca se usa",
        "Pon el camino sin «if» al final de la lista",
    )


def test_choice_without_target(tmp_path):
    folder = copy_flows(tmp_path)
    edit(
        folder, "order.yaml",
        '        words: ["platillos", "platillo", "comida", "agregar", "quitar"]\n        go: pedir\n',
        '        words: ["platillos", "platillo", "comida", "agregar", "quitar"]\n',
    )
    p = only(folder)
    assert_problem(
        p, ChoiceWithoutTarget, folder, "order.yaml",
        position(folder, "order.yaml", "      - id: platillos\n", at="id"),
        "order.yaml › steps › corregir › choices › [1]",
        "La opción «platillos» no dice a dónde seguir",
        "Agrega «go:» a la opción o «next:» al paso",
    )


# ------------------------------------------------------------------ messages


def test_unknown_message(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    ask: ask_name\n", "    ask: ask_nmae\n")
    loaded = inspect(folder)
    assert loaded.flows is None
    assert len(loaded.errors) == 1, describe(loaded.problems)
    assert_problem(
        loaded.errors[0], UnknownMessage, folder, "order.yaml",
        position(folder, "order.yaml", "    ask: ask_nmae\n", at="ask_nmae"),
        "order.yaml › steps › nombre › ask",
        "El mensaje «ask_nmae» no existe en messages.yaml",
        "¿Quisiste decir «ask_name»?",
    )


def test_unknown_message_in_a_command(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    say: cart\n", "    say: carrito\n")
    loaded = inspect(folder)
    assert len(loaded.errors) == 1, describe(loaded.problems)
    assert_problem(
        loaded.errors[0], UnknownMessage, folder, "order.yaml",
        position(folder, "order.yaml", "    say: carrito\n", at="carrito"),
        "order.yaml › commands › [2] › say",
        "El mensaje «carrito» no existe en messages.yaml",
        "Escríbelo en messages.yaml o usa uno que exista",
    )


def test_missing_builtin_message(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "not_understood: |-\n  Perdón, no te entendí 🙏\n\n", "")
    p = only(folder)
    text = (folder / "messages.yaml").read_text(encoding="utf-8").splitlines()
    first_key = next(n for n, line in enumerate(text, 1) if line and not line.startswith("#"))
    assert_problem(
        p, MissingBuiltinMessage, folder, "messages.yaml",
        (first_key, 1),
        "messages.yaml",
        "Falta el mensaje «not_understood», que el bot usa por su cuenta",
        "Agrégalo a messages.yaml",
    )


def test_unused_message_is_only_a_warning(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "\nerror: |-\n", "\npromo: |-\n  ¡Martes de 2x1 en pastor! 🌮\n\nerror: |-\n")
    loaded = inspect(folder)
    assert loaded.errors == [], describe(loaded.errors)
    assert loaded.flows is not None  # validation still passes
    assert len(loaded.problems) == 1, describe(loaded.problems)
    p = loaded.problems[0]
    assert p.severity == "warning"
    assert_problem(
        p, UnusedMessage, folder, "messages.yaml",
        position(folder, "messages.yaml", "\npromo: |-\n", at="promo"),
        "messages.yaml › promo",
        "Nadie usa el mensaje «promo»",
        "Úsalo en order.yaml o bórralo",
    )
    load_flows(folder)  # no FlowErrors


def test_template_syntax_points_inside_a_multiline_message(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  Total: {{ order.total | money }}. {% if", "  Total: {{ order.total | money }. {% if")
    p = only(folder)
    line, _ = position(folder, "messages.yaml", "  Total: {{ order.total | money }. {% if")
    assert "Total: {{ order.total | money }." in line_text(folder, "messages.yaml", p.line)
    assert type(p) is TemplateSyntax, describe([p])
    assert p.line == line, describe([p])
    assert p.column in (1, 3)  # the start of the line or of its text
    assert p.file.endswith("messages.yaml")
    assert p.where() == "messages.yaml › order_confirmed"
    assert "Error en la plantilla del mensaje «order_confirmed»" in p.message("es")
    assert "cada «{{» cierre con «}}»" in p.hint("es")


def test_template_syntax_on_a_later_line_of_a_long_message(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  ¿Lo confirmamos? (sí / no)", "  {% if order.name %}¿Lo confirmamos? (sí / no)")
    p = only(folder)
    assert type(p) is UnclosedBlock, describe([p])
    assert p.where() == "messages.yaml › order_summary"
    assert "falta cerrar un «if»" in p.message("es")
    # Jinja2 notices the missing endif at the end of the message: its last line.
    line, _ = position(folder, "messages.yaml", "  {% if order.name %}¿Lo confirmamos?")
    assert p.line == line, describe([p])
    assert "«order_summary»" in p.message("es")
    assert "endif" in p.hint("es")


def test_template_syntax_on_the_first_line_of_a_block(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  ¿Qué te sirvo? Escribe", "  ¿Qué te sirvo? {{ Escribe")
    p = only(folder)
    line, _ = position(folder, "messages.yaml", "  ¿Qué te sirvo? {{ Escribe")
    assert type(p) is TemplateSyntax, describe([p])
    assert (p.line, p.file.endswith("messages.yaml")) == (line, True), describe([p])
    assert p.where() == "messages.yaml › ask_item"


# A misspelt attribute ("cart.subtotl") is reported as UnknownAttribute, a misspelt name
# ("clientes") as UnknownVariable; both name the variable and point at it inside the message.


def test_unknown_variable_misspelt_attribute(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "Subtotal: {{ cart.subtotal | money }}", "Subtotal: {{ cart.subtotl | money }}")
    p = only(folder)
    assert_problem(
        p, UnknownAttribute, folder, "messages.yaml",
        position(folder, "messages.yaml", "Subtotal: {{ cart.subtotl | money }}", at="cart.subtotl"),
        "messages.yaml › cart",
        "El mensaje «cart» usa «cart.subtotl»",
        "¿Quisiste decir «subtotal»?",
    )


def test_unknown_variable_cart_totl(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  Llevas {{ cart.subtotal | money }}. ¿Algo más? Escribe otro platillo o *listo* para",
         "  Llevas {{ cart.totl | money }}. ¿Algo más? Escribe otro platillo o *listo* para")
    p = only(folder)
    assert_problem(
        p, UnknownAttribute, folder, "messages.yaml",
        position(folder, "messages.yaml", "  Llevas {{ cart.totl | money }}", at="cart.totl"),
        "messages.yaml › item_added",
        "El mensaje «item_added» usa «cart.totl»",
        "subtotal",  # what cart does have
    )


def test_unknown_variable_top_level_name(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  Claro 🙋 Ya le avisé", "  Claro {{ clientes }} 🙋 Ya le avisé")
    p = only(folder)
    assert_problem(
        p, UnknownVariable, folder, "messages.yaml",
        position(folder, "messages.yaml", "  Claro {{ clientes }}", at="clientes"),
        "messages.yaml › handover",
        "El mensaje «handover» usa «clientes», que no existe aquí",
        "Puedes usar:",
    )
    assert "customer" in p.hint("es") and "restaurant" in p.hint("es")


def test_unknown_variable_of_a_builtin_message_lists_its_extras(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "{{ item.", "{{ platillo.", after="\nitem_sold_out: |-\n")
    p = only(folder)
    assert_problem(
        p, UnknownVariable, folder, "messages.yaml",
        position(folder, "messages.yaml", "{{ platillo.", at="platillo", after="\nitem_sold_out: |-\n"),
        "messages.yaml › item_sold_out",
        "El mensaje «item_sold_out» usa «platillo»",
        "item",  # item_sold_out also gets the item
    )


def test_an_admin_message_may_use_every_field_the_desk_gives_an_order(tmp_path):
    # The checks render admin messages with the very view the admin desk builds for a stored order.
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  ✅ Pedido #{{ order.number }}: ",
         "  ✅ Pedido #{{ order.number }} {{ order.updated_at }} {{ order.placed_at }} {{ order.time }}"
         "{% if order.location %}{{ order.location.label }}{% endif %}: ")
    loaded = inspect(folder)
    assert [p for p in loaded.problems if p.severity == "error"] == [], describe(loaded.problems)
    edit(folder, "messages.yaml", "{{ order.updated_at }}", "{{ order.hora }}")
    p = only(folder)
    assert type(p) is UnknownAttribute and "hora" in p.message("es") and "updated_at" in p.render("es"), describe([p])


def test_unknown_variable_points_at_the_line_that_uses_it(tmp_path):
    # "order." forgotten before "total", a word that already appears two lines above
    # (inside "line.total"): the problem is on the Total line.
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "  {% endif %}*Total: {{ order.total | money }}*\n", "  {% endif %}*Total: {{ total | money }}*\n")
    p = only(folder)
    assert type(p) is UnknownVariable, describe([p])
    assert p.where() == "messages.yaml › order_summary"
    assert "«total»" in p.message("es")
    expected = position(folder, "messages.yaml", "*Total: {{ total | money }}*", at="total")
    assert (p.line, p.column) == expected, f"{describe([p])}\npoints at: {line_text(folder, 'messages.yaml', p.line)!r}"


def test_message_too_long(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "\nhelp: |-\n", "\nhelp: |-\n  " + "¡Bienvenidos a El Rinconcito! " * 60 + "\n")
    p = only(folder)
    assert_problem(
        p, MessageTooLong, folder, "messages.yaml",
        position(folder, "messages.yaml", "\nhelp: |-\n", at="|"),
        "messages.yaml › help",
        "El mensaje «help» puede llegar a",
        "Acórtalo",
    )
    assert "WhatsApp acepta hasta 1600" in p.message("es")
    assert int(p.details["length"]) > 1600


def test_message_too_long_with_a_long_order(tmp_path):
    # Short as written, but the summary of a big order overflows.
    folder = copy_flows(tmp_path)
    edit(
        folder, "messages.yaml",
        "  {% for line in cart.lines %}• {{ line.description }}: {{ line.total | money }}\n  {% endfor %}Subtotal",
        "  {% for line in cart.lines %}• {{ line.description }}: {{ line.total | money }} ({{ line.unit_price | money }} c/u) — "
        "preparado al momento, con mucho cariño, por la cocina de la casa; ¡buen provecho!\n  {% endfor %}Subtotal",
    )
    p = only(folder)
    assert type(p) is MessageTooLong, describe([p])
    assert p.where() == "messages.yaml › cart"


# ------------------------------------------------------------------ conditions and answers


def test_condition_with_a_syntax_error(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", '      - if: order.fulfilment == "delivery"\n        go: direccion',
         '      - if: order.fulfilment = "delivery"\n        go: direccion')
    p = only(folder)
    assert_problem(
        p, BadCondition, folder, "order.yaml",
        position(folder, "order.yaml", '      - if: order.fulfilment = "delivery"', at="order"),
        "order.yaml › steps › nombre › next › [1] › if",
        'No entiendo la condición «order.fulfilment = "delivery"»',
        'order.fulfilment == "delivery"',
    )


def test_condition_with_an_unknown_variable(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "      - if: not cart.empty\n", "      - if: not carrito.empty\n")
    p = only(folder)
    assert_problem(
        p, BadCondition, folder, "order.yaml",
        position(folder, "order.yaml", "      - if: not carrito.empty\n", at="not"),
        "order.yaml › steps › inicio › next › [2] › if",
        "No entiendo la condición «not carrito.empty»",
        "cart.subtotal < 150",
    )
    assert "carrito" in p.details["error"]


def test_missing_answer(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    save_as: name\n", "    save_as: nombre\n")
    p = only(folder)
    assert_problem(
        p, MissingAnswer, folder, "order.yaml",
        position(folder, "order.yaml", "\nsteps:\n  inicio:", at="inicio"),
        "order.yaml › steps",
        "El pedido necesita «name», pero ningún paso lo pregunta",
        "Agrega un paso con «save_as: name» antes de «place_order»",
    )


def test_bad_fulfilment_choice(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "      - id: pickup\n", "      - id: recoger\n", after="  entrega:\n")
    p = only(folder)
    assert_problem(
        p, BadFulfilment, folder, "order.yaml",
        position(folder, "order.yaml", "      - id: recoger\n", at="recoger"),
        "order.yaml › steps › entrega › choices › [1] › id",
        "deben ser «pickup» y «delivery», no «recoger»",
        "Usa id: pickup (recoger) o id: delivery (a domicilio)",
    )


# ------------------------------------------------------------------ menu


def test_duplicate_item_id(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "      - id: suadero\n", "      - id: pastor\n")
    p = only(folder)
    assert_problem(
        p, DuplicateId, folder, "menu.yaml",
        position(folder, "menu.yaml", "      - id: pastor\n        name: Taco de suadero", at="pastor"),
        "menu.yaml › categories › [1] › items › [2] › id",
        "El id «pastor» se repite (ya está en Tacos)",
        "Cada platillo necesita un id distinto",
    )


def test_duplicate_item_id_across_categories(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "      - id: jamaica\n", "      - id: bistec\n")
    p = only(folder)
    assert_problem(
        p, DuplicateId, folder, "menu.yaml",
        position(folder, "menu.yaml", "      - id: bistec\n        name: Agua de jamaica", at="bistec"),
        "menu.yaml › categories › [4] › items › [2] › id",
        "El id «bistec» se repite (ya está en Tacos)",
        "Cada platillo necesita un id distinto",
    )


def test_duplicate_option_choice_id(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "      - id: fanta\n", "      - id: sprite\n")
    p = only(folder)
    assert_problem(
        p, DuplicateId, folder, "menu.yaml",
        position(folder, "menu.yaml", "      - id: sprite\n        name: Fanta", at="sprite"),
        "menu.yaml › options › sabor › choices › [3] › id",
        "El id «sprite» se repite (ya está en sabor)",
        "Cada opción necesita un id distinto",
    )


def test_duplicate_choice_id_in_a_step(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "      - id: tarjeta\n", "      - id: efectivo\n")
    p = only(folder)
    assert_problem(
        p, DuplicateId, folder, "order.yaml",
        position(folder, "order.yaml", "      - id: efectivo\n        name: tarjeta", at="efectivo"),
        "order.yaml › steps › pago › choices › [2] › id",
        "El id «efectivo» se repite (ya está en pago)",
        "Cada opción necesita un id distinto",
    )


def test_unknown_option_group(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "        options: [tortilla, preparacion]\n", "        options: [tortila, preparacion]\n",
         after="      - id: pastor\n")
    p = only(folder)
    assert_problem(
        p, UnknownOptionGroup, folder, "menu.yaml",
        position(folder, "menu.yaml", "        options: [tortila, preparacion]\n", at="tortila"),
        "menu.yaml › categories › [1] › items › [1] › options › [1]",
        "La opción «tortila» no está en «options»",
        "¿Quisiste decir «tortilla»?",
    )


def test_unknown_choice_in_option_prices(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "          harina: 15", "          harna: 15")
    p = only(folder)
    line, _ = position(folder, "menu.yaml", "          harna: 15")
    key = position(folder, "menu.yaml", "          harna: 15", at="harna")
    value = position(folder, "menu.yaml", "          harna: 15", at="15")
    assert type(p) is UnknownChoice, describe([p])
    assert p.file.endswith("menu.yaml")
    assert p.line == line, describe([p])
    # The key or its value: both are on the line.
    assert (p.line, p.column) in (key, value), describe([p])  # the key or its price
    assert p.where() == "menu.yaml › categories › [3] › items › [2] › option_prices › harna"
    assert "«harna» no es una opción de «orden_pastor»" in p.message("es")
    assert "Usa el id de una de sus opciones" in p.hint("es") and "¿Quisiste decir «harina»?" in p.hint("es")


def test_unknown_choice_as_default(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "menu.yaml", "    default: con_todo\n", "    default: contodo\n")
    p = only(folder)
    assert_problem(
        p, UnknownChoice, folder, "menu.yaml",
        position(folder, "menu.yaml", "    default: contodo\n", at="contodo"),
        "menu.yaml › options › preparacion › default",
        "«contodo» no es una opción de «preparacion»",
        "¿Quisiste decir «con_todo»?",
    )
    assert "sin_cebolla" in p.hint("es")


# ------------------------------------------------------------------ hours


def test_unknown_timezone_with_did_you_mean(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", "timezone: America/Mexico_City\n", "timezone: America/Mexico_Cty\n")
    p = only(folder)
    assert_problem(
        p, UnknownTimezone, folder, "hours.yaml",
        position(folder, "hours.yaml", "timezone: America/Mexico_Cty\n", at="America"),
        "hours.yaml › timezone",
        "No conozco la zona horaria «America/Mexico_Cty»",
        "¿Quisiste decir «America/Mexico_City»?",
    )


IMPOSSIBLE = {
    # hours: (problem kind, message fragment, fix fragment)
    "13:00-13:00": (OpensAndClosesAtOnce, "abre y cierra a la misma hora", 'ej. "13:00-23:00"'),
    "23:00-13:00": (ClosesBeforeOpening, "cierra antes de abrir", "antes de las 06:00"),
}


def test_open_around_the_clock_is_not_a_mistake(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", '  tuesday: "13:00-23:00"\n', '  tuesday: "00:00-24:00"\n')
    loaded = inspect(folder)
    assert loaded.problems == [], describe(loaded.problems)
    tuesday = loaded.flows.hours.weekly[1]
    assert tuesday is not None and tuesday.crosses_midnight  # from 00:00 to the next day's 00:00


@pytest.mark.parametrize("hours", list(IMPOSSIBLE))
def test_impossible_hours(tmp_path, hours):
    kind, message, hint = IMPOSSIBLE[hours]
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", '  tuesday: "13:00-23:00"\n', f'  tuesday: "{hours}"\n')
    p = only(folder)
    assert type(p) is kind, describe([p])
    assert_problem(
        p, type(p), folder, "hours.yaml",
        position(folder, "hours.yaml", f'  tuesday: "{hours}"\n', at='"'),
        "hours.yaml › weekly › tuesday",
        f"El horario «{hours}» ",
        hint,
    )
    assert message in p.message("es")


def test_impossible_special_hours(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", '  "2026-12-24": "13:00-18:00"\n', '  "2026-12-24": "18:00-13:00"\n')
    p = only(folder)
    assert type(p) is ClosesBeforeOpening, describe([p])
    assert_problem(
        p, type(p), folder, "hours.yaml",
        position(folder, "hours.yaml", '  "2026-12-24": "18:00-13:00"\n', at='"18'),
        "hours.yaml › special › 2026-12-24",
        "El horario «18:00-13:00» cierra antes de abrir",
        'ej. "13:00-01:00"',
    )


def test_past_midnight_hours_are_possible(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", '  thursday: "13:00-23:00"\n', '  thursday: "13:00-02:00"\n')
    assert inspect(folder).problems == []


def test_overlapping_hours(tmp_path):
    folder = copy_flows(tmp_path)
    # Friday's service runs until Saturday 01:00, but Saturday now opens at 00:30.
    edit(folder, "hours.yaml", '  saturday: "13:00-01:00"\n', '  saturday: "00:30-23:00"\n')
    p = only(folder)
    assert type(p) is OverlappingHours, describe([p])
    assert p.file.endswith("hours.yaml")
    assert (p.line, p.column) in (
        position(folder, "hours.yaml", '  friday: "13:00-01:00"\n', at='"'),
        position(folder, "hours.yaml", '  saturday: "00:30-23:00"\n', at='"'),
    ), describe([p])
    assert p.where() in ("hours.yaml › weekly › friday", "hours.yaml › weekly › saturday")
    assert "termina a las 01:00 del día siguiente, pero ese día abre a las 00:30" in p.message("es")
    assert "para que no se encimen" in p.hint("es")


def test_overlapping_special_date(tmp_path):
    folder = copy_flows(tmp_path)
    # Thursday 24 December now runs until 02:00 on the 25th, which opens at 01:00.
    edit(folder, "hours.yaml", '  "2026-12-24": "13:00-18:00"\n  "2026-12-25": closed\n',
         '  "2026-12-24": "13:00-02:00"\n  "2026-12-25": "01:00-12:00"\n')
    p = only(folder)
    assert type(p) is OverlappingHours, describe([p])
    assert p.where() in ("hours.yaml › special › 2026-12-24", "hours.yaml › special › 2026-12-25")
    assert p.line in (
        position(folder, "hours.yaml", '  "2026-12-24"')[0],
        position(folder, "hours.yaml", '  "2026-12-25"')[0],
    )
    assert "02:00" in p.message("es") and "01:00" in p.message("es")


def test_date_that_does_not_exist(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "hours.yaml", '  "2026-12-25": closed\n', '  "2026-02-30": closed\n')
    p = only(folder)
    assert_problem(
        p, BadDate, folder, "hours.yaml",
        position(folder, "hours.yaml", '  "2026-02-30": closed\n', at='"'),
        "hours.yaml › special › 2026-02-30",
        "La fecha «2026-02-30» no existe",
        'año-mes-día, ej. "2026-12-24"',
    )


# ------------------------------------------------------------------ no cascade, everything at once


CASCADE_CASES = {
    "typo in a next": ("order.yaml", "    next: pago\n", "    next: pagos\n", UnknownStep),
    "typo in a conditional branch": ("order.yaml", "        go: direccion\n", "        go: direcion\n", UnknownStep),
    "typo in a command target": ("order.yaml", "    go: cancelar\n", "    go: cancelr\n", UnknownStep),
    "typo in a message key": ("order.yaml", "    ask: ask_name\n", "    ask: ask_nmae\n", UnknownMessage),
    "choice without go in the fulfilment step": (
        "order.yaml",
        '        words: ["agregar", "agregar más", "más", "mas", "pedir más"]\n        go: pedir\n',
        '        words: ["agregar", "agregar más", "más", "mas", "pedir más"]\n',
        ChoiceWithoutTarget,
    ),
    "typo in a message key of a choice step": ("order.yaml", "    ask: ask_change\n", "    ask: ask_chnage\n", UnknownMessage),
    "typo in an option price": ("menu.yaml", "          harina: 15", "          harnia: 15", UnknownChoice),
    "typo in a time zone": ("hours.yaml", "timezone: America/Mexico_City\n", "timezone: Mexico/CDMX\n", UnknownTimezone),
    "bad date": ("hours.yaml", '  "2027-01-01": closed\n', '  "2027-02-29": closed\n', BadDate),
}


@pytest.mark.parametrize("case", list(CASCADE_CASES))
def test_one_mistake_gives_one_problem(tmp_path, case):
    name, old, new, kind = CASCADE_CASES[case]
    folder = copy_flows(tmp_path)
    edit(folder, name, old, new)
    problems = inspect(folder).problems
    assert len(problems) == 1, describe(problems)
    assert type(problems[0]) is kind
    assert problems[0].file.endswith(name)


def test_several_mistakes_in_several_files_in_one_run(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    next: contacto\n", "    next: contato\n")
    edit(folder, "menu.yaml", "      - id: suadero\n", "      - id: pastor\n")
    edit(folder, "hours.yaml", "timezone: America/Mexico_City\n", "timezone: America/Mexico_Cty\n")
    edit(folder, "messages.yaml", "  Total: {{ order.total | money }}. {% if", "  Total: {{ order.total | money }. {% if")
    edit(folder, "hours.yaml", '  tuesday: "13:00-23:00"\n', '  tuesday: "13:00-13:00"\n')
    loaded = inspect(folder)
    assert loaded.flows is None
    found = sorted((type(p).__name__, Path(p.file).name) for p in loaded.problems)
    assert found == sorted([
        ("DuplicateId", "menu.yaml"),
        ("OpensAndClosesAtOnce", "hours.yaml"),
        ("TemplateSyntax", "messages.yaml"),
        ("UnknownStep", "order.yaml"),
        ("UnknownTimezone", "hours.yaml"),
    ]), describe(loaded.problems)
    assert all(p.line > 0 and p.column > 0 for p in loaded.problems)
    with pytest.raises(FlowErrors) as raised:
        load_flows(folder)
    assert len(raised.value.problems) == 5


def test_two_mistakes_in_one_file_both_reported(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    next: contacto\n", "    next: contato\n")
    edit(folder, "order.yaml", "    ask: ask_name\n", "    ask: ask_nmae\n")
    errors = inspect(folder).errors
    assert sorted(type(p).__name__ for p in errors) == ["UnknownMessage", "UnknownStep"], describe(errors)


def problem_kinds_of_the_checks() -> dict[str, type[FlowProblem]]:
    """Every problem kind defined in a module of ``engine.loading.checks``, by name."""
    kinds: dict[str, type[FlowProblem]] = {}
    for module_info in pkgutil.iter_modules(checks.__path__, f"{checks.__name__}."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, FlowProblem) and value.__module__ == module.__name__:
                assert name not in kinds, f"{name} is defined twice"
                kinds[name] = value
    return kinds


def test_every_problem_kind_has_spanish_and_english_text():
    kinds = problem_kinds_of_the_checks()
    assert len(kinds) >= 29
    for name, kind in kinds.items():
        assert kind.text.get("es") and kind.text.get("en"), name
        assert kind.fix.get("es") and kind.fix.get("en"), name


def test_every_problem_kind_of_the_checks_has_a_test_here():
    """Each kind is used by name (or spelt as a string) somewhere in this file, or in another
    ``test_checks_*.py`` next to it, outside its imports."""
    files = [Path(__file__), *sorted(Path(__file__).parent.glob("test_checks_*.py"))]
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in files]
    mentioned = {
        node.id if isinstance(node, ast.Name) else node.value
        for tree in trees
        for statement in tree.body if not isinstance(statement, (ast.Import, ast.ImportFrom))
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
    }
    untested = sorted(name for name in problem_kinds_of_the_checks() if name not in mentioned)
    assert untested == []


def test_unknown_filter_names_the_filters_there_are(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "Llevas {{ cart.subtotal | money }}. ¿Algo más?", "Llevas {{ cart.subtotal | dinero }}. ¿Algo más?")
    p = only(folder)
    assert type(p) is UnknownFilter, describe([p])
    assert p.where() == "messages.yaml › item_added"
    assert "usa el filtro «dinero», que no existe" in p.message("es")
    assert "money" in p.hint("es")
    line, _ = position(folder, "messages.yaml", "Llevas {{ cart.subtotal | dinero }}")
    assert p.line == line


def test_money_on_text_is_a_template_value_problem(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "¿A nombre de quién va el pedido?", "¿A nombre de quién va el pedido? {{ restaurant.name | money }}")
    p = only(folder)
    assert type(p) is TemplateValue, describe([p])
    assert p.where() == "messages.yaml › ask_name"
    assert "«money» solo va con números" in p.hint("es")


def test_condition_comparing_with_a_choice_name_instead_of_its_id(tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", 'order.fulfilment == "delivery" and cart', 'order.fulfilment == "a domicilio" and cart')
    p = only(folder)
    assert type(p) is UnknownChoiceValue, describe([p])
    assert p.where() == "order.yaml › steps › entrega › next › [1] › if"
    assert "compara «order.fulfilment» con «a domicilio»" in p.message("es")
    assert "delivery" in p.message("es") and "pickup" in p.message("es")
    line, _ = position(folder, "order.yaml", 'order.fulfilment == "a domicilio" and cart')
    assert p.line == line
