"""Second stage of the loading pipeline: check a file's shape against its JSON Schema.

jsonschema's messages are written for developers ("'22 pesos' is not of type 'integer'"); the
people who edit the flows get one plain-language problem per mistake instead, in Spanish and
English, with a "did you mean" where a typo is likely:

* each kind of schema failure has its own ``FlowProblem`` subclass (below);
* ``oneOf``/``anyOf`` failures are resolved to the branch that fits the value's type, so a
  wrong value gets the specific message of that branch, not "is not valid under any of";
* at most one problem per place in the file, and a missing key is not reported when a
  misspelt key next to it already says "did you mean ...?" (one mistake, one problem).

The schemas may carry two keywords of our own, ignored by editors and by jsonschema:

* ``x-hint``: ``{"es": ..., "en": ...}``, the fix shown when the value breaks the ``pattern``
  (or the ``not``) of that schema, e.g. how to write business hours;
* ``x-money``: ``true`` on amounts in pesos, so a text like "$22" gets a fix about the sign.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections import defaultdict
from importlib import resources
from typing import Any, Callable, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from engine.loading.problems import FlowProblem, Path, did_you_mean
from engine.loading.source import Source

SCHEMAS = resources.files("engine.loading") / "schemas"
"""The JSON Schemas, shipped inside the package (``schemas/`` at the top of the repository links here)."""
KINDS = ("restaurant", "menu", "hours", "messages", "order", "conversation")

# ---------------------------------------------------------------------------- problems


class WrongType(FlowProblem):
    text = {
        "es": "«{field}» debe ser {expected_es}{rule_es}: {shown_es}.",
        "en": "'{field}' must be {expected_en}{rule_en}: {shown_en}.",
    }
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class UnknownKey(FlowProblem):
    points_at_key = True
    text = {"es": "La clave «{key}» no existe aquí.", "en": "There is no key '{key}' here."}
    fix = {"es": "Las claves posibles aquí son: {allowed}.", "en": "The keys allowed here are: {allowed}."}

    def message(self, lang: str = "es") -> str:
        return super().message(lang) + did_you_mean(self.details, lang)


class MissingKey(FlowProblem):
    points_at_key = True
    text = {"es": "Falta «{key}» en {parent_es}.", "en": "'{key}' is missing in {parent_en}."}
    fix = {"es": "Agrega «{key}: ...». {about_es}", "en": "Add '{key}: ...'. {about_en}"}


class NotOneOf(FlowProblem):
    text = {"es": "«{field}» no puede ser «{value}».", "en": "'{field}' cannot be '{value}'."}
    fix = {"es": "Usa uno de estos: {allowed}.", "en": "Use one of: {allowed}."}

    def message(self, lang: str = "es") -> str:
        return super().message(lang) + did_you_mean(self.details, lang)


class BadFormat(FlowProblem):
    text = {
        "es": "«{field}» no está escrito como se espera: {shown_es}.",
        "en": "'{field}' is not written as expected: {shown_en}.",
    }
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class BadKeyName(FlowProblem):
    points_at_key = True
    text = {"es": "La clave «{key}» no es válida.", "en": "The key '{key}' is not valid."}
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class TooShort(FlowProblem):
    text = {"es": "«{field}» {problem_es}.", "en": "'{field}' {problem_en}."}
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class TooLong(FlowProblem):
    text = {
        "es": "«{field}» es demasiado largo: tiene {actual} y el máximo es {limit}.",
        "en": "'{field}' is too long: it has {actual} and the maximum is {limit}.",
    }
    fix = {"es": "Acórtalo.", "en": "Make it shorter."}


class OutOfRange(FlowProblem):
    text = {
        "es": "«{field}» debe ser {bound_es} {limit}, y es {value}.",
        "en": "'{field}' must be {bound_en} {limit}, and it is {value}.",
    }
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class NeedsOneOf(FlowProblem):
    points_at_key = True
    text = {"es": "A {parent_es} le falta una de estas claves: {keys_es}.", "en": "{parent_en} needs one of these keys: {keys_en}."}
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class OnlyOneOf(FlowProblem):
    points_at_key = True
    text = {
        "es": "«{key}» no puede ir junto con «{other}»: solo se usa una de las dos.",
        "en": "'{key}' cannot go together with '{other}': use only one of them.",
    }
    fix = {"es": "Deja solo una de las dos claves.", "en": "Keep only one of the two keys."}


class NotAllowedTogether(FlowProblem):
    points_at_key = True
    text = {
        "es": "«{key}» no puede ir junto con «{trigger}».",
        "en": "'{key}' cannot go together with '{trigger}'.",
    }
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class InvalidValue(FlowProblem):
    """Anything the schemas reject that has no plainer problem of its own."""

    text = {"es": "«{field}» no es válido aquí: {shown_es}.", "en": "'{field}' is not valid here: {shown_en} ({raw})."}
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


# ---------------------------------------------------------------------------- entry point


def check_shape(source: Source, kind: str) -> list[FlowProblem]:
    """Every shape problem of ``source`` against ``schemas/{kind}.schema.json``, located, in file order."""
    validator = validator_for(kind)
    root = validator.schema  # the dict read by validator_for
    translator = _Translator(source.file, root if isinstance(root, dict) else {})
    problems: list[FlowProblem] = []
    for error in validator.iter_errors(source.data):
        problems.extend(translator.translate(error))
    located = [source.locate_problem(p) for p in _without_cascades(problems)]
    return sorted(located, key=lambda p: (p.line, p.column))


@functools.cache
def validator_for(kind: str) -> Draft202012Validator:
    """The validator for one kind of file; schemas are read once per process."""
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


# ---------------------------------------------------------------------------- translation

_TYPE_NAMES = {
    "integer": ("un número entero", "a whole number"),
    "number": ("un número", "a number"),
    "string": ("un texto", "text"),
    "boolean": ("true o false", "true or false"),
    "object": ("un bloque de claves (clave: valor)", "a block of keys (key: value)"),
    "array": ("una lista", "a list"),
    "null": ("vacío", "empty"),
}

# Key names staff may write in Spanish, for the "did you mean" of an unknown key.
_SPANISH_KEYS = {
    "nombre": "name", "precio": "price", "telefono": "phone", "teléfono": "phone", "pais": "country",
    "país": "country", "moneda": "currency", "idioma": "language", "envio": "delivery", "envío": "delivery",
    "palabras": "words", "opciones": "options", "categorias": "categories", "categorías": "categories",
    "platillos": "items", "productos": "items", "descripcion": "description", "descripción": "description",
    "disponible": "available", "pregunta": "question", "siguiente": "next", "pasos": "steps",
    "inicio": "start", "comandos": "commands", "tipo": "kind", "decir": "say", "preguntar": "ask",
    "lunes": "monday", "martes": "tuesday", "miercoles": "wednesday", "miércoles": "wednesday",
    "jueves": "thursday", "viernes": "friday", "sabado": "saturday", "sábado": "saturday",
    "domingo": "sunday", "semana": "weekly", "especiales": "special", "zona_horaria": "timezone",
    "si": "yes", "sí": "yes", "listo": "done",
}

_YES_WORDS = {"yes", "si", "sí", "on", "verdadero", "y"}
_NO_WORDS = {"no", "off", "falso", "n"}


class _Translator:
    """Turns jsonschema errors into problems; knows the root schema to read descriptions."""

    def __init__(self, file: str, root: dict[str, Any]) -> None:
        self.file = file
        self.root = root
        self.handlers: dict[str, Callable[[ValidationError], list[FlowProblem]]] = {
            "type": self._wrong_type,
            "required": self._missing,
            "additionalProperties": self._unknown,
            "enum": self._not_one_of,
            "const": self._not_one_of,
            "pattern": self._bad_format,
            "minLength": self._too_short,
            "minItems": self._too_short,
            "minProperties": self._too_short,
            "maxLength": self._too_long,
            "maxItems": self._too_long,
            "minimum": self._out_of_range,
            "maximum": self._out_of_range,
            "exclusiveMinimum": self._out_of_range,
            "exclusiveMaximum": self._out_of_range,
            "oneOf": self._branches,
            "anyOf": self._branches,
            "not": self._not,
        }

    def translate(self, error: ValidationError) -> list[FlowProblem]:
        if "propertyNames" in error.absolute_schema_path:
            return [self._bad_key_name(error)]
        handler = self.handlers.get(str(error.validator), self._invalid)
        return handler(error)

    # -- one handler per failing keyword

    def _wrong_type(self, error: ValidationError) -> list[FlowProblem]:
        expected = _rule(error) if isinstance(_rule(error), list) else [_rule(error)]
        return [self._wrong_type_problem(error, [str(t) for t in expected])]

    def _wrong_type_problem(self, error: ValidationError, expected: list[str]) -> FlowProblem:
        path = _path(error)
        value = _value(error)
        money = bool(self._lookup(_schema(error), "x-money"))
        rule_es = rule_en = ""
        if expected == ["integer"]:
            rule_es = ", sin texto ni signo de pesos" if money else ", sin texto"
            rule_en = ", without text or currency sign" if money else ", without text"
        fix_es, fix_en = _type_fix(_field(path), value, expected, self._lookup(_schema(error), "description"))
        return self._problem(
            WrongType,
            path,
            expected_es=" o ".join(_TYPE_NAMES.get(t, (t, t))[0] for t in expected),
            expected_en=" or ".join(_TYPE_NAMES.get(t, (t, t))[1] for t in expected),
            rule_es=rule_es,
            rule_en=rule_en,
            fix_es=fix_es,
            fix_en=fix_en,
            **_shown(value),
        )

    def _missing(self, error: ValidationError) -> list[FlowProblem]:
        if not isinstance(_value(error), dict):
            return []
        path = _path(error)
        properties = _schema(error).get("properties", {})
        problems = []
        for key in _rule(error):
            if key in _value(error):
                continue
            about = self._lookup(properties.get(key, {}), "description") or self._lookup(properties.get(key, {}), "title")
            problems.append(
                self._problem(
                    MissingKey,
                    (*path, key),
                    key=key,
                    **_parent_names(path, self.file),
                    about_es=_sentence(about) or "Mira la guía en docs/.",
                    about_en="See the guide in docs/.",
                )
            )
        return problems

    def _unknown(self, error: ValidationError) -> list[FlowProblem]:
        if not isinstance(_value(error), dict) or _rule(error) is not False:
            return self._invalid(error)
        allowed = list(_schema(error).get("properties", {}))
        patterns = list(_schema(error).get("patternProperties", {}))
        extras = [k for k in _value(error) if k not in allowed and not any(re.search(p, k) for p in patterns)]
        path = _path(error)
        return [
            self._problem(UnknownKey, (*path, key), key=key, allowed=", ".join(allowed), close=_close(key, allowed))
            for key in extras
        ]

    def _not_one_of(self, error: ValidationError) -> list[FlowProblem]:
        allowed = _rule(error) if error.validator == "enum" else [_rule(error)]
        words = [_plain(a) for a in allowed]
        value = _plain(_value(error))
        return [
            self._problem(
                NotOneOf, _path(error), value=value, allowed=", ".join(words), close=_close(value, words)
            )
        ]

    def _bad_format(self, error: ValidationError) -> list[FlowProblem]:
        fix_es, fix_en = self._hint(_schema(error))
        return [self._problem(BadFormat, _path(error), fix_es=fix_es, fix_en=fix_en, **_shown(_value(error)))]

    def _bad_key_name(self, error: ValidationError) -> FlowProblem:
        # jsonschema checks a key's name with the key itself as the instance, at the object's path.
        key = str(_value(error))
        fix_es, fix_en = self._hint(_schema(error))
        return self._problem(BadKeyName, (*_path(error), key), key=key, fix_es=fix_es, fix_en=fix_en)

    def _too_short(self, error: ValidationError) -> list[FlowProblem]:
        limit = int(_rule(error))
        # (singular, plural) in Spanish and English for each kind of minimum.
        units = {
            "minLength": (("carácter", "caracteres"), ("character", "characters")),
            "minItems": (("elemento", "elementos"), ("item", "items")),
        }
        unit_es, unit_en = units.get(str(error.validator), (("clave", "claves"), ("key", "keys")))
        need_es = f"al menos {limit} {unit_es[limit != 1]}"
        need_en = f"at least {limit} {unit_en[limit != 1]}"
        if _is_empty(_value(error)):
            problem_es, problem_en = "está vacío", "is empty"
        else:
            problem_es = f"necesita {need_es} y tiene {len(_value(error))}"
            problem_en = f"needs {need_en} and has {len(_value(error))}"
        description = self._lookup(_schema(error), "description")
        return [
            self._problem(
                TooShort,
                _path(error),
                problem_es=problem_es,
                problem_en=problem_en,
                limit=limit,
                fix_es=_sentence(description) or "Complétalo.",
                fix_en="Fill it in.",
            )
        ]

    def _too_long(self, error: ValidationError) -> list[FlowProblem]:
        return [self._problem(TooLong, _path(error), actual=len(_value(error)), limit=_rule(error))]

    def _out_of_range(self, error: ValidationError) -> list[FlowProblem]:
        bounds = {
            "minimum": ("al menos", "at least"),
            "maximum": ("como máximo", "at most"),
            "exclusiveMinimum": ("mayor que", "greater than"),
            "exclusiveMaximum": ("menor que", "less than"),
        }
        bound_es, bound_en = bounds[str(error.validator)]
        description = self._lookup(_schema(error), "description")
        return [
            self._problem(
                OutOfRange,
                _path(error),
                bound_es=bound_es,
                bound_en=bound_en,
                limit=_rule(error),
                value=_plain(_value(error)),
                fix_es=_sentence(description) or "Corrige el número.",
                fix_en="Correct the number.",
            )
        ]

    def _branches(self, error: ValidationError) -> list[FlowProblem]:
        """oneOf/anyOf: report the mistake inside the branch the value was meant for."""
        branches = [self._resolve(b) for b in _rule(error)]
        keys = _exactly_one_keys(_rule(error))
        if keys is not None and isinstance(_value(error), dict):
            return [self._exactly_one(error, keys)]
        if not error.context:
            return self._invalid(error)
        by_branch: dict[int, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            by_branch[int(sub.relative_schema_path[0])].append(sub)
        fitting = [errors for errors in by_branch.values() if not any(_rejects_type(e) for e in errors)]
        if not fitting:
            types = [str(t) for b in branches for t in _as_list(b.get("type"))]
            return [self._wrong_type_problem(error, list(dict.fromkeys(types)))]
        if len(fitting) == 1:
            return [p for sub in fitting[0] for p in self.translate(sub)]
        return self.translate(best_match(e for errors in fitting for e in errors))

    def _exactly_one(self, error: ValidationError, keys: list[str]) -> FlowProblem:
        path = _path(error)
        present = [k for k in keys if k in _value(error)]
        if len(present) > 1:
            return self._problem(OnlyOneOf, (*path, present[1]), key=present[1], other=present[0])
        description = self._lookup(_schema(error), "description")
        return self._problem(
            NeedsOneOf,
            path,
            **_parent_names(path, self.file),
            keys_es=_join([f"«{k}»" for k in keys], "o"),
            keys_en=_join([f"'{k}'" for k in keys], "or"),
            fix_es=_sentence(description) or "Agrega una.",
            fix_en="Add one of them.",
        )

    def _not(self, error: ValidationError) -> list[FlowProblem]:
        forbidden = [k for k in _required_keys(_rule(error)) if isinstance(_value(error), dict) and k in _value(error)]
        schema_path = list(error.absolute_schema_path)
        trigger = ""
        if "dependentSchemas" in schema_path:
            trigger = str(schema_path[schema_path.index("dependentSchemas") + 1])
        if not forbidden or not trigger:
            return self._invalid(error)
        fix_es, fix_en = self._hint(_schema(error))
        path = _path(error)
        return [
            self._problem(NotAllowedTogether, (*path, key), key=key, trigger=trigger, fix_es=fix_es, fix_en=fix_en)
            for key in forbidden
        ]

    def _invalid(self, error: ValidationError) -> list[FlowProblem]:
        fix_es, fix_en = self._hint(_schema(error))
        return [
            self._problem(InvalidValue, _path(error), raw=error.message, fix_es=fix_es, fix_en=fix_en, **_shown(_value(error)))
        ]

    # -- helpers that read the schema

    def _problem(self, kind: type[FlowProblem], path: Path, **details: Any) -> FlowProblem:
        details.setdefault("field", _field(path, self.file))
        return kind(file=self.file, path=path, details=details)

    def _resolve(self, schema: Any) -> dict[str, Any]:
        """Follow a local ``$ref`` (all our references are ``#/$defs/...``)."""
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 10:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            schema, seen = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, seen + 1
        return schema if isinstance(schema, dict) else {}

    def _lookup(self, schema: Any, keyword: str) -> Any:
        return self._resolve(schema).get(keyword)

    def _hint(self, schema: Any) -> tuple[str, str]:
        hint = self._lookup(schema, "x-hint")
        if isinstance(hint, dict):
            return str(hint.get("es", "")), str(hint.get("en", hint.get("es", "")))
        description = _sentence(self._lookup(schema, "description"))
        return description or "Revisa el valor.", "Check the value."


# ---------------------------------------------------------------------------- cascades


_PRIORITY = [WrongType, NotOneOf, BadFormat, BadKeyName, TooShort, TooLong, OutOfRange]


def _without_cascades(problems: list[FlowProblem]) -> list[FlowProblem]:
    """One problem per place; a misspelt key's "did you mean" stands for the key it misses."""
    _pair_lone_mistakes(problems)
    misspelt = {(p.path[:-1], p.details.get("close")) for p in problems if isinstance(p, UnknownKey)}
    kept = [p for p in problems if not (isinstance(p, MissingKey) and (p.path[:-1], p.path[-1]) in misspelt)]

    def rank(p: FlowProblem) -> int:
        return _PRIORITY.index(type(p)) if type(p) in _PRIORITY else len(_PRIORITY)

    best: dict[Path, FlowProblem] = {}
    for p in kept:
        if p.path not in best or rank(p) < rank(best[p.path]):
            best[p.path] = p
    return list(best.values())


def _pair_lone_mistakes(problems: list[FlowProblem]) -> None:
    """One unknown key and one missing key in the same block are one mistake: a wrong key name.

    ``say: ask_name`` in a step that needs ``ask`` is reported once, as the unknown key with
    "did you mean «ask»?", even though the two names do not look alike.
    """
    unknown: dict[Path, list[FlowProblem]] = defaultdict(list)
    missing: dict[Path, list[FlowProblem]] = defaultdict(list)
    for p in problems:
        if isinstance(p, UnknownKey):
            unknown[p.path[:-1]].append(p)
        elif isinstance(p, MissingKey):
            missing[p.path[:-1]].append(p)
    for holder, extras in unknown.items():
        if len(extras) == 1 and len(missing[holder]) == 1 and not extras[0].details.get("close"):
            extras[0].details["close"] = missing[holder][0].path[-1]


# ---------------------------------------------------------------------------- small helpers


def _path(error: ValidationError) -> Path:
    return tuple(error.absolute_path)


def _rule(error: ValidationError) -> Any:
    """The failing keyword's value in the schema (JSON: a list, a number, a mapping...).

    This and the next two read an error's fields: jsonschema's stubs allow them to be unset,
    and every error that ``iter_errors`` yields has them."""
    return error.validator_value


def _value(error: ValidationError) -> Any:
    """The value in the flow file that the schema rejects (plain data from the YAML)."""
    return error.instance


def _schema(error: ValidationError) -> dict[str, Any]:
    """The schema that holds the failing keyword (a mapping in all our schemas)."""
    return error.schema if isinstance(error.schema, dict) else {}


def _field(path: Path, file: str = "") -> str:
    """How a problem names the value: the key (``price``), or ``words [3]`` for a list item."""
    if not path:
        return file.rsplit("/", 1)[-1]
    last = path[-1]
    if isinstance(last, int):
        return f"{_field(path[:-1], file)} [{last + 1}]"
    return str(last)


def _parent_names(path: Path, file: str) -> dict[str, str]:
    """The holder of a missing key, as staff read it: «pedir», or the file itself."""
    name = _field(path, file)
    return {"parent_es": f"«{name}»", "parent_en": f"'{name}'"}


def _plain(value: Any) -> str:
    """A value written the way it appears in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)[:60]
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown(value: Any) -> dict[str, str]:
    """``shown_es``/``shown_en``: what the value is now, as a short clause."""
    if _is_empty(value):
        return {"shown_es": "ahora está vacío", "shown_en": "it is empty"}
    if isinstance(value, dict):
        return {"shown_es": "ahora es un bloque (clave: valor)", "shown_en": "it is a block (key: value)"}
    if isinstance(value, list):
        return {"shown_es": "ahora es una lista", "shown_en": "it is a list"}
    return {"shown_es": f"ahora dice «{_plain(value)}»", "shown_en": f"it says '{_plain(value)}'"}


def _join(words: list[str], last: str) -> str:
    """«a», «b» o «c»."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _sentence(text: Any) -> str:
    if not text:
        return ""
    words = str(text).strip()
    first = words.split(" ", 1)[0].rstrip(",.;:")
    if first in _CODE_WORDS:
        return words  # "closed, o la hora..." starts with a value to type as is
    return words[0].upper() + words[1:]


_CODE_WORDS = frozenset({"closed", "true", "false", "end", "back"})


def _close(word: str, candidates: Iterable[Any]) -> str | None:
    options = [str(c) for c in candidates]
    translated = _SPANISH_KEYS.get(word.lower())
    if translated in options:
        return translated
    by_lower = {o.lower(): o for o in options}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rejects_type(error: ValidationError) -> bool:
    """A branch error that says the value is not even of the branch's type."""
    return error.validator == "type" and not error.relative_path


def _exactly_one_keys(branches: list[Any]) -> list[str] | None:
    """For ``oneOf: [{required: [a]}, {required: [b]}]`` (exactly one of these keys): [a, b]."""
    keys = []
    for branch in branches:
        if not isinstance(branch, dict) or set(branch) - {"required", "title", "description"}:
            return None
        required = branch.get("required", [])
        if len(required) != 1:
            return None
        keys.append(str(required[0]))
    return keys


def _required_keys(schema: Any) -> list[str]:
    """The keys a ``not`` forbids: ``{anyOf: [{required: [a]}, ...]}`` or ``{required: [a, ...]}``."""
    if not isinstance(schema, dict):
        return []
    keys = [str(k) for k in schema.get("required", [])]
    for branch in schema.get("anyOf", []):
        keys.extend(_required_keys(branch))
    return keys


def _type_fix(field: str, value: Any, expected: list[str], description: Any) -> tuple[str, str]:
    """A concrete fix for a value of the wrong type, written as the line to type."""
    about = _sentence(description)
    if expected == ["integer"] or expected == ["number"]:
        number = _number_in(value, whole=expected == ["integer"])
        if number is not None:
            return f"Escribe: {field}: {number}", f"Write: {field}: {number}"
        if isinstance(value, float):
            return "Escribe un número sin decimales.", "Write a number without decimals."
    if expected == ["string"] and isinstance(value, (bool, int, float)):
        return f'Ponlo entre comillas: {field}: "{_plain(value)}"', f'Put it in quotes: {field}: "{_plain(value)}"'
    if expected == ["boolean"] and isinstance(value, str):
        word = value.strip().lower()
        if word in _YES_WORDS or word in _NO_WORDS:
            answer = "true" if word in _YES_WORDS else "false"
            return f"Escribe: {field}: {answer} (true es sí, false es no)", f"Write: {field}: {answer}"
        return "Escribe true (sí) o false (no).", "Write true or false."
    if expected == ["array"] and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f'Escribe una lista: {field}: ["{_plain(value)}"]', f'Write a list: {field}: ["{_plain(value)}"]'
    if expected == ["object"]:
        return (
            f"Escribe las claves debajo de «{field}:», con dos espacios más de sangría. {about}".strip(),
            f"Write the keys under '{field}:', indented two more spaces.",
        )
    return about or "Revisa el valor.", "Check the value."


def _number_in(value: Any, whole: bool) -> str | None:
    """The number inside a text like "$22", "22 pesos" or "1,500", if there is exactly one."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"(?<=\d)[,\s](?=\d{3}\b)", "", value)  # thousands separators
    numbers: list[str] = re.findall(r"-?\d+(?:\.\d+)?", text)
    if len(numbers) != 1:
        return None
    if whole and "." in numbers[0]:
        return None
    return numbers[0]
