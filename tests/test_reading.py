"""Reading a message once into acts (engine.runtime.reading), against El Rinconcito's flows.

What each message means here is what the reading says, before any step decides: the acts, in
order, with what they point at. The steps' decisions are tested by the conversation tests and
the understanding corpus.
"""

from __future__ import annotations

import pytest

from engine.runtime import acts as a
from engine.runtime.flows import Flows
from engine.runtime.lexicon import tokens_of
from engine.runtime.reading import read


@pytest.fixture(scope="module")
def lexicon(flows: Flows):
    return flows.compiled.lexicon


def acts(lexicon, text: str) -> list[a.Act]:
    return list(read(lexicon, text).acts)


def only(lexicon, text: str, kind: type) -> a.Act:
    found = [x for x in acts(lexicon, text) if isinstance(x, kind)]
    assert len(found) == 1, (text, acts(lexicon, text))
    return found[0]


# ---------------------------------------------------------------- words


@pytest.mark.parametrize(("text", "words"), [
    ("¡Siiii, CON TODO!!", ("si", "con", "todo")),
    ("-1 pastor", ("-", "1", "pastor")),
    ("x3 pastor / 3x pastor", ("3", "pastor", "3", "pastor")),
    ("55-8765-4321", ("55", "8765", "4321")),
    ("coca-cola 👍🏽", ("coca", "cola", "👍")),
    ("Champiñones", ("champiñones",)),
])
def test_words_are_compared_without_accents_case_repeats_or_punctuation(text, words):
    assert tokens_of(text) == words


# ---------------------------------------------------------------- items and quantities


@pytest.mark.parametrize(("text", "item", "quantity", "options"), [
    ("3 pastor maíz con todo", "pastor", 3, {"tortilla": "maiz", "preparacion": "con_todo"}),
    ("media docena de suadero", "suadero", 6, {}),
    ("un par de gringas", "gringa", 2, {}),
    ("dies horchatas", "horchata", 10, {}),
    ("la orden de 5", "orden_pastor", 1, {}),
    ("2 órdenes de 5 de pastor", "orden_pastor", 2, {}),
    ("una coca", "refresco", 1, {"sabor": "coca"}),
    ("3 de pasto", "pastor", 3, {}),
    ("tres tacos de bistek", "bistec", 3, {}),
    ("4 campechanos que no lleven cebolla", "campechano", 4, {"preparacion": "sin_cebolla"}),
])
def test_an_item_with_its_quantity_and_options(lexicon, text, item, quantity, options):
    line = only(lexicon, text, a.AddLine)
    assert (line.item, line.quantity, line.options) == (item, quantity, options)


def test_several_items_each_with_its_own_quantity(lexicon):
    lines = [x for x in acts(lexicon, "dame 3 de pastor 2 de suadero y 1 bistec") if isinstance(x, a.AddLine)]
    assert [(x.item, x.quantity) for x in lines] == [("pastor", 3), ("suadero", 2), ("bistec", 1)]


def test_a_number_that_counts_time_or_money_is_no_quantity(lexicon):
    assert not read(lexicon, "paso en 20 minutos").has(a.Number, a.AddLine)
    assert only(lexicon, "paso en 20 minutos", a.StepChoice).options == (("entrega", "pickup"), ("minimo", "pickup"))
    assert not read(lexicon, "efectivo, pago con 500").has(a.Number)


@pytest.mark.parametrize("text", ["paso por ellos", "total", "¿cuánto es todo?", "quiero ordenar", "coca light"])
def test_a_word_of_another_kind_is_never_taken_for_an_item_by_its_looks(lexicon, text):
    found = [x.item for x in acts(lexicon, text) if isinstance(x, a.AddLine)]
    assert found in ([], ["refresco"])  # "coca light": the coca is a refresco; light is not read as eight
    if text == "coca light":
        assert read(lexicon, text).leftover == ("light",)


def test_a_general_word_names_its_candidates(lexicon):
    unsure = only(lexicon, "2 quesadillas", a.Unsure)
    assert (set(unsure.candidates), unsure.quantity) == ({"quesadilla_queso", "quesadilla_champi"}, 2)
    assert set(only(lexicon, "algo de tomar", a.Unsure).candidates) == {"horchata", "jamaica", "refresco"}
    assert not read(lexicon, "3 tacos al pastor").has(a.Unsure)  # the general word is the item's own


# ---------------------------------------------------------------- edits


def test_removing_a_line_or_some_of_it(lexicon):
    assert only(lexicon, "quita una horchata", a.Remove) == a.Remove(a.Ref("horchata"), 1, "quita una horchata")
    assert only(lexicon, "quítale la torta", a.Remove).quantity is None  # "la" is not one to take away
    assert only(lexicon, "-1 pastor", a.Remove).quantity == 1
    assert only(lexicon, "mejor sin la torta", a.Remove).ref == a.Ref("torta_milanesa")
    assert only(lexicon, "cancela la torta", a.Remove).ref == a.Ref("torta_milanesa")
    assert not read(lexicon, "cancela la torta").has(a.Intent)
    assert only(lexicon, "quítale uno", a.Remove) == a.Remove(a.IT, 1, "quitale uno")


def test_replacements_read_across_commas_and_negations(lexicon):
    for text, old, new in [
        ("cambia la torta por una gringa", "torta_milanesa", "gringa"),
        ("en vez de horchata, jamaica", "horchata", "jamaica"),
        ("la horchata que sea jamaica", "horchata", "jamaica"),
        ("no era jamaica, era horchata", "jamaica", "horchata"),
    ]:
        replace = only(lexicon, text, a.Replace)
        assert (replace.ref.item, replace.item) == (old, new), text
    unsure = only(lexicon, "cambia la torta por una quesadilla", a.Replace)
    assert unsure.item is None and set(unsure.candidates) == {"quesadilla_queso", "quesadilla_champi"}
    assert only(lexicon, "no, dije bistec", a.Replace).ref == a.IT


@pytest.mark.parametrize(("text", "act"), [
    ("que sean 4", a.SetQuantity(a.IT, 4, "que sean 4")),
    ("mejor 2 de pastor", a.SetQuantity(a.Ref("pastor"), 2, "mejor 2 de pastor")),
    ("una más", a.More(a.IT, 1, "una mas")),
    ("2 más de pastor", a.More(a.Ref("pastor"), 2, "2 mas de pastor")),
    ("otra horchata", a.More(a.Ref("horchata"), 1, "otra horchata")),
])
def test_quantities_set_or_added_by_their_verb(lexicon, text, act):
    assert [x for x in acts(lexicon, text) if isinstance(x, (a.SetQuantity, a.More))] == [act]


def test_eran_2_no_3_is_two(lexicon):
    assert [x for x in acts(lexicon, "eran 2, no 3")] == [a.SetQuantity(a.IT, 2, "eran 2")]


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(("text", "choice"), [
    ("que no lleve cilantro", "sin_cilantro"),
    ("nomás con cebolla", "sin_cilantro"),
    ("con todo menos cebolla", "sin_cebolla"),
    ("no le pongas cebolla", "sin_cebolla"),
    ("con todito", "con_todo"),
])
def test_option_choices_in_free_words(lexicon, text, choice):
    assert only(lexicon, text, a.Choose).choice == choice


def test_a_split_and_the_rest(lexicon):
    chosen = [x for x in acts(lexicon, "2 de harina y los demás de maíz") if isinstance(x, a.Choose)]
    assert [(x.choice, x.quantity, x.rest) for x in chosen] == [("harina", 2, False), ("maiz", None, True)]


def test_words_for_two_options_keep_both(lexicon):
    normal = only(lexicon, "lo normal", a.Choose)
    assert {(normal.group, normal.choice), *normal.alternatives} == {("tortilla", "maiz"), ("preparacion", "con_todo")}


def test_sin_nada_is_asked_about(lexicon):
    assert read(lexicon, "sin nada").has(a.Unclear)
    assert not read(lexicon, "sin nada").has(a.Intent)


# ---------------------------------------------------------------- intents, yes and no, questions


def test_intents_inside_sentences(lexicon, flows):
    def intent(text: str) -> str:
        found = only(lexicon, text, a.Intent)
        return found.name

    assert intent("eso sería todo, gracias") == "done"
    assert intent("¿me mandas el menú?") == "menu"
    assert intent("pásame con el encargado") == "handover"
    assert intent("quiero hacer un pedido") == "start"
    assert intent("ya no quiero nada") == "cancel"
    assert intent("ya no me manden mensajes") == "opt_out"
    assert not read(lexicon, "quiero una baja en calorías").has(a.Intent)  # "baja" inside a sentence


def test_es_todo_finishes_and_con_todo_is_the_option(lexicon):
    found = acts(lexicon, "con todo, es todo")
    assert [type(x) for x in found] == [a.Choose, a.Intent]


@pytest.mark.parametrize(("text", "value"), [
    ("sí, confirmo", True), ("va, así está bien", True), ("👍", True), ("no, falta algo", False), ("nel", False),
])
def test_yes_and_no(lexicon, text, value):
    said = [x.value for x in acts(lexicon, text) if isinstance(x, a.YesNo)]
    assert said and set(said) == {value}


@pytest.mark.parametrize("text", ["déjame ver si mi hermano quiere algo", "a ver si alcanzo", "no sé", "quién sabe"])
def test_si_that_is_if_and_i_do_not_know_are_no_yes(lexicon, text):
    assert not any(isinstance(x, a.YesNo) and x.value for x in acts(lexicon, text))


@pytest.mark.parametrize(("text", "topic"), [
    ("¿a qué hora cierran?", "hours"),
    ("¿cuánto es el envío?", "delivery"),
    ("¿cuánto es el mínimo?", "delivery"),
    ("¿aceptan tarjeta?", "payment"),
    ("¿cuánto tardan?", "waiting"),
    ("¿dónde están?", "where"),
    ("total", "total"),
    ("¿cuánto es con el envío?", "total"),
])
def test_questions_and_their_topics(lexicon, text, topic):
    assert only(lexicon, text, a.Asked).topics[0] == topic


def test_a_question_names_what_it_is_about_and_is_nothing_else(lexicon):
    question = only(lexicon, "¿cuánto cuesta la gringa?", a.Asked)
    assert question.items == ("gringa",)
    assert acts(lexicon, "¿cuánto cobran de envío?") == [only(lexicon, "¿cuánto cobran de envío?", a.Asked)]
    assert only(lexicon, "¿cuánto más la de harina?", a.Asked).choices == (("tortilla", "harina"),)


def test_a_question_in_form_that_orders_is_an_order(lexicon):
    assert not read(lexicon, "¿me das 3 de pastor?").has(a.Asked)
    assert only(lexicon, "¿me das 3 de pastor?", a.AddLine).quantity == 3


# ---------------------------------------------------------------- names, phones, corrections


def test_names_after_their_lead_in_as_typed(lexicon):
    assert only(lexicon, "me llamo Juan Pérez", a.Name).text == "Juan Pérez"
    assert only(lexicon, "a nombre de Paty, porfa", a.Name).text == "Paty"
    assert read(lexicon, "Roberto, gracias").free == ("Roberto",)
    assert read(lexicon, "Sra. Martínez").free == ("Sra. Martínez",)


def test_phones_and_this_same_number(lexicon):
    assert only(lexicon, "mi cel es 55 8765 4321", a.Phone).digits == "5587654321"
    assert read(lexicon, "al de WhatsApp").has(a.SamePhone)
    assert not read(lexicon, "55 1234").has(a.Phone)


def test_corrections_of_an_answer_take_the_new_value_as_typed(lexicon):
    assert only(lexicon, "el nombre está mal, es Anahí", a.Correct) == a.Correct("name", "Anahí", "el nombre esta mal es anahi")
    assert only(lexicon, "la dirección es Durango 14, no 12", a.Correct).value == "Durango 14"
    assert only(lexicon, "la dirección es Colima 32, Roma", a.Correct).value == "Colima 32, Roma"


def test_a_correction_at_the_start_marks_the_whole_reading(lexicon):
    assert read(lexicon, "no, de suadero").rather
    assert read(lexicon, "perdón, 2 nada más").rather
    assert not read(lexicon, "2 de suadero").rather


# ---------------------------------------------------------------- the reading itself


def test_the_same_text_reads_the_same_and_is_remembered(lexicon):
    first = read(lexicon, "3 pastor y es todo")
    assert read(lexicon, "3 pastor y es todo") is first
    assert first == type(first)(**{f: getattr(first, f) for f in first.__dataclass_fields__})


@pytest.mark.parametrize("text", ["", "   ", "¿?", "y y y", "🌮🌮", "-", "x", "0", "999999999999", "sin", "por por por"])
def test_odd_texts_read_without_raising(lexicon, text):
    read(lexicon, text)


def test_a_message_of_one_misspelt_word_is_read_as_the_yes_no_or_listo_it_is_like(lexicon):
    assert only(lexicon, "lsito", a.Intent).name == "done"
    assert read(lexicon, "Marta").free == ("Marta",)  # a name, not "carta" (a command is never guessed)
    assert not read(lexicon, "Marta").acts


def test_two_items_named_as_one_are_a_question_of_which(lexicon):
    unsure = only(lexicon, "una orden de suadero", a.Unsure)
    assert (unsure.candidates, unsure.quantity) == (("orden_pastor", "suadero"), 1)
    assert len([x for x in acts(lexicon, "3 de pastor 3 de suadero") if isinstance(x, a.AddLine)]) == 2
