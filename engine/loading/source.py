"""First stage of the loading pipeline: read one flow file as plain data, keeping positions.

The file is parsed with PyYAML's composer (never a hand-written parser) and the node tree is
turned into plain Python by this module, so that every value and every mapping key keeps its
1-based line and column for error messages. The events the composer works on come from libyaml's
parser when PyYAML has it (ten times quicker); a file libyaml cannot read is read again by
PyYAML's pure-Python parser, whose words and places the syntax errors below are made of, so a
mistake is reported the same either way.

What a plain (unquoted) value means. YAML 1.1, which PyYAML implements, turns many innocent
words into other types; restaurant staff would be surprised by all of them, so the resolvers
here are deliberately small:

* booleans are only ``true`` and ``false`` (in any case): ``yes``, ``no``, ``on``, ``off``,
  ``si`` stay text, so ``no`` in a list of words is the word "no";
* null is ``~``, ``null`` (``Null``, ``NULL``) or nothing at all;
* integers are plain decimals (``22``, ``-3``): no octal (``010`` stays text), no hex, no
  ``1_000``, no sexagesimal (``13:00`` stays the text "13:00", never 780);
* floats are plain decimals with a point (``19.43``): no exponents, ``.inf`` or ``.nan``;
* no timestamps: ``2026-12-25`` stays the text "2026-12-25";
* everything else is text.

Quoted values are always text. Anchors and aliases (``&`` / ``*``), merge keys, explicit tags
other than the standard ones, keys that are lists or mappings, duplicate keys, tabs used for
indentation, several documents in one file, an empty file and a file that is not UTF-8 are
all reported as problems (every problem of the file at once, as ``FlowErrors``).
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import Any, Callable

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from engine.loading.problems import FlowErrors, FlowProblem, Path

Position = tuple[int, int]

# ---------------------------------------------------------------------------- problems


class NotUtf8(FlowProblem):
    text = {
        "es": "El archivo no está guardado en UTF-8 (hay un carácter que no se puede leer).",
        "en": "The file is not saved as UTF-8 (a character cannot be read).",
    }
    fix = {
        "es": "Guárdalo como UTF-8 en tu editor (en VS Code: abajo a la derecha, «UTF-8»).",
        "en": "Save it as UTF-8 in your editor (in VS Code: bottom right, 'UTF-8').",
    }


class EmptyFile(FlowProblem):
    text = {"es": "El archivo está vacío.", "en": "The file is empty."}
    fix = {
        "es": "Escribe su contenido o copia el ejemplo de la guía (docs/).",
        "en": "Write its content or copy the example from the guide (docs/).",
    }


class TabIndent(FlowProblem):
    text = {
        "es": "La línea {line} usa tabuladores (tecla Tab) al inicio.",
        "en": "Line {line} starts with tab characters.",
    }
    fix = {
        "es": "Usa espacios: YAML no acepta tabuladores para la sangría (2 espacios por nivel).",
        "en": "Use spaces: YAML does not accept tabs for indentation (2 spaces per level).",
    }


class YamlSyntax(FlowProblem):
    text = {"es": "No se puede leer el archivo: {explain_es}", "en": "The file cannot be read: {explain_en}"}
    fix = {"es": "{fix_es}", "en": "{fix_en}"}


class DuplicateKey(FlowProblem):
    points_at_key = True
    text = {
        "es": "La clave «{key}» aparece dos veces en el mismo bloque (la primera en la línea {first_line}).",
        "en": "The key '{key}' appears twice in the same block (first on line {first_line}).",
    }
    fix = {
        "es": "Deja solo una: si no, una de las dos se ignoraría sin avisar.",
        "en": "Keep only one: otherwise one of them would be silently ignored.",
    }


class AnchorOrAlias(FlowProblem):
    text = {
        "es": "Aquí hay un ancla (&) o un alias (*) de YAML, y no se permiten.",
        "en": "There is a YAML anchor (&) or alias (*) here, and they are not allowed.",
    }
    fix = {
        "es": "Escribe el valor completo. Si el texto empieza con & o *, ponlo entre comillas: \"*promo*\".",
        "en": "Write the value in full. If the text starts with & or *, quote it: \"*promo*\".",
    }


class UnsupportedTag(FlowProblem):
    text = {
        "es": "La etiqueta «{tag}» no se permite aquí.",
        "en": "The tag '{tag}' is not allowed here.",
    }
    fix = {
        "es": "Quita la etiqueta (lo que empieza con !). Si el texto empieza con !, ponlo entre comillas.",
        "en": "Remove the tag (the part starting with !). If the text starts with !, quote it.",
    }


class ComplexKey(FlowProblem):
    text = {
        "es": "Una clave debe ser un texto sencillo, no una lista ni un bloque.",
        "en": "A key must be plain text, not a list or a block.",
    }
    fix = {
        "es": "Revisa la línea. Si el valor empieza con {{{{ o [, ponlo entre comillas: \"{{{{ nombre }}}} ...\".",
        "en": "Check the line. If the value starts with {{{{ or [, quote it: \"{{{{ name }}}} ...\".",
    }


# ---------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class Source:
    """One flow file as plain data, with the position of every value and key."""

    file: str
    """Display name (``flows/order.yaml``)."""
    data: Any
    positions: dict[Path, Position]
    """Path -> 1-based (line, column) where the value starts."""
    key_positions: dict[Path, Position]
    """Path -> 1-based (line, column) of the mapping key that holds the value."""

    def locate(self, path: Path, key: bool = False) -> Position:
        """Where ``path`` is, or its nearest existing ancestor (a missing key points at its parent)."""
        path = tuple(path)
        for end in range(len(path), -1, -1):
            here = path[:end]
            if key and here in self.key_positions:
                return self.key_positions[here]
            if here in self.positions:
                return self.positions[here]
        return (1, 1)

    def locate_problem(self, p: FlowProblem) -> FlowProblem:
        """Fill in the problem's line and column (kept when it already has them)."""
        if not p.line:
            p.line, p.column = self.locate(p.path, key=getattr(type(p), "points_at_key", False))
        return p


def load_source(path: pathlib.Path, file: str) -> Source:
    """Read and parse one flow file; ``FlowErrors`` with every problem when it cannot be used."""
    text = _decode(path.read_bytes(), file)
    tabs = _tab_problems(text, file)
    if tabs:
        # A tab makes the rest of the parse unreliable: report the tabs alone, no cascade.
        raise FlowErrors(tabs)
    try:
        root, reuse_marks = _compose(text)
    except yaml.YAMLError as error:
        raise FlowErrors([_syntax_problem(error, text, file)]) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL and not root.value):
        raise FlowErrors([EmptyFile(file=file, line=1, column=1)])
    builder = _Builder(file)
    data = builder.convert(root, ())
    problems = builder.problems + [
        AnchorOrAlias(file=file, line=mark.line + 1, column=mark.column + 1) for mark in reuse_marks
    ]
    if problems:
        raise FlowErrors(problems)
    return Source(file, data, builder.positions, builder.key_positions)


def _decode(raw: bytes, file: str) -> str:
    try:
        # utf-8-sig: a byte-order mark left by some Windows editors is harmless, drop it.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise FlowErrors([NotUtf8(file=file, line=line, column=column)]) from None


def _tab_problems(text: str, file: str) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(TabIndent(file=file, line=number, column=indent.index("\t") + 1, details={"line": number}))
    return problems


# ---------------------------------------------------------------------------- the YAML loader

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_BOOL_RE = re.compile(r"^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$")
_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")


class _FlowComposer(Composer, BaseResolver):
    """PyYAML's composer with the small set of implicit types described in the module docstring,
    recording where anchors and aliases are; the events come from the parser it is mixed with."""

    # A fresh table: nothing inherited from YAML 1.1 (yes/no, 13:00, dates, 0x1F, <<, =).
    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def __init__(self) -> None:
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.reuse_marks: list[yaml.Mark] = []

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # Record anchors and aliases to report them; an alias becomes an empty value so a
        # recursive alias can never make the conversion loop.
        event: Event = self.peek_event()  # type: ignore[attr-defined]  # the parser's
        if isinstance(event, AliasEvent):
            self.get_event()  # type: ignore[attr-defined]
            start, end = _marks(event)
            self.reuse_marks.append(start)
            return ScalarNode(_NULL, "", start, end)
        if getattr(event, "anchor", None) is not None:
            self.reuse_marks.append(_marks(event)[0])
        return super().compose_node(parent, index)


class _FlowLoader(Reader, Scanner, Parser, _FlowComposer):
    """PyYAML's pure-Python reader, scanner and parser under the composer: what a file libyaml
    cannot read is read with, for the syntax errors' words and places."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)  # the reader already rejects control characters here
        Scanner.__init__(self)
        Parser.__init__(self)
        _FlowComposer.__init__(self)


class _LibyamlFlowLoader(_FlowComposer):
    """libyaml's parser under the composer, its events given the same marks and styles as the
    pure-Python parser's (a ``yaml.Mark`` each; a plain scalar's style None, not "")."""

    def __init__(self, stream: str) -> None:
        _FlowComposer.__init__(self)
        self._parser = _LIBYAML_PARSER(stream)
        self._peeked: Event | None = None
        self._in_flow: list[bool] = []
        """For each collection open around the next event: whether it is written ``[...]``/``{...}``."""

    def peek_event(self) -> Event | None:
        if self._peeked is None:
            event = self._peeked = _as_pure_python(self._parser.get_event())
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None) or getattr(event, "tag", None):
                # Mistakes here (or rare explicit tags): PyYAML's account of them, not libyaml's.
                raise _NotAsPyYAML("an anchor, an alias or a tag")
            if isinstance(event, CollectionStartEvent):
                self._in_flow.append(bool(event.flow_style))
            elif isinstance(event, CollectionEndEvent):
                self._in_flow.pop()
            elif (isinstance(event, ScalarEvent) and event.style is None and self._in_flow and self._in_flow[-1]
                  and "?" in event.value):
                # Inside [...] or {...} PyYAML ends a plain text at "?" ([http://x?a=1] is a
                # mistake to it), libyaml does not: let PyYAML read it.
                raise _NotAsPyYAML("a plain scalar with '?' inside a flow collection")
        return self._peeked

    def get_event(self) -> Event | None:
        event = self.peek_event()
        self._peeked = None
        return event

    def check_event(self, *choices: type[Event]) -> bool:
        event = self.peek_event()
        return event is not None and (not choices or isinstance(event, choices))

    def dispose(self) -> None:
        self._parser.dispose()


_BLOCK_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*#")


class _NotAsPyYAML(yaml.YAMLError):
    """Where libyaml is known to read a text otherwise than PyYAML's pure-Python parser."""


_LIBYAML_PARSER: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
"""libyaml's parser; None when PyYAML was built without libyaml (then the pure-Python one reads every file)."""


def _as_pure_python(event: Event | None) -> Event | None:
    if event is not None:
        event.start_mark = _pure_mark(event.start_mark)
        event.end_mark = _pure_mark(event.end_mark)
        if isinstance(event, ScalarEvent) and event.style == "":
            event.style = None
    return event


def _pure_mark(mark: Any) -> yaml.Mark:
    return yaml.Mark(mark.name, mark.index, mark.line, mark.column, None, mark.index)


def _compose(text: str) -> tuple[Node | None, list[yaml.Mark]]:
    """The document's root node, and where its anchors and aliases are (``yaml.YAMLError`` for a
    file that cannot be read): with libyaml's parser when PyYAML has it and it reads the file,
    else with the pure-Python one, whose errors are the ones explained to the editor.

    The same file must give the same answer whichever parser reads it. Where libyaml is known to
    read a text otherwise, the pure-Python parser reads it: a tab inside a line (``a:<tab>b``),
    a character PyYAML's reader refuses, a comment straight after a block scalar's ``|`` or
    ``>`` (``|#``), and (seen in the events, ``_LibyamlFlowLoader``) anchors, aliases, tags and
    a ``?`` in plain text inside ``[...]`` or ``{...}``: PyYAML stops at each of them, libyaml
    reads on."""
    if (_LIBYAML_PARSER is not None and "\t" not in text and not Reader.NON_PRINTABLE.search(text)
            and not _BLOCK_HEADER_COMMENT.search(text)):
        try:
            return _compose_with(_LibyamlFlowLoader(text))
        except yaml.YAMLError:
            pass  # read again below, for the pure-Python parser's account of the mistake
    return _compose_with(_FlowLoader(text))


def _compose_with(loader: _FlowLoader | _LibyamlFlowLoader) -> tuple[Node | None, list[yaml.Mark]]:
    try:
        return loader.get_single_node(), loader.reuse_marks
    finally:
        loader.dispose()


def _marks(event: Event) -> tuple[yaml.Mark, yaml.Mark]:
    """Where ``event`` starts and ends. Both parsers' events have both here (the stubs also
    allow libyaml's marks and None, which ``_LibyamlFlowLoader`` turns into ``yaml.Mark``)."""
    start, end = event.start_mark, event.end_mark
    if not isinstance(start, yaml.Mark) or not isinstance(end, yaml.Mark):
        raise TypeError(f"YAML event without position: {event!r}")
    return start, end


_FlowComposer.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
_FlowComposer.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_FlowComposer.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+.0123456789"))
_FlowComposer.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])


class _Builder:
    """Turns composed nodes into plain Python, recording positions and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.problems: list[FlowProblem] = []

    def convert(self, node: Node, path: Path) -> Any:
        self.positions[path] = _position(node.start_mark)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            self._expect_tag(node, _SEQ)
            return [self.convert(child, (*path, i)) for i, child in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        self._expect_tag(node, _MAP)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(ComplexKey, path, key_node.start_mark)
                continue
            # Keys are always text: a key written 2026 or true means the words, not a number.
            key = key_node.value
            child = (*path, key)
            if key in result:
                first_line = self.key_positions[child][0]
                self._problem(DuplicateKey, child, key_node.start_mark, key=key, first_line=first_line)
                continue
            self.key_positions[child] = _position(key_node.start_mark)
            result[key] = self.convert(value_node, child)
            if _is_empty(value_node):
                # An empty value has no text of its own: its key is the place to point at.
                self.positions[child] = self.key_positions[child]
        return result

    def _scalar(self, node: Node) -> Any:
        value, tag = node.value, node.tag
        if tag == _STR:
            return value
        if tag in _MAKERS:
            pattern, make = _MAKERS[tag]
            if pattern.match(value):
                return make(value)
        # An explicit tag (!!timestamp, !!binary, !custom, or !!int on a non-number).
        self._problem(UnsupportedTag, (), node.start_mark, tag=tag.replace("tag:yaml.org,2002:", "!!"))
        return value

    def _expect_tag(self, node: Node, tag: str) -> None:
        if node.tag != tag:
            self._problem(UnsupportedTag, (), node.start_mark, tag=node.tag.replace("tag:yaml.org,2002:", "!!"))

    def _problem(self, kind: type[FlowProblem], path: Path, mark: yaml.Mark, **details: Any) -> None:
        line, column = _position(mark)
        self.problems.append(kind(file=self.file, path=path, line=line, column=column, details=details))


def _position(mark: yaml.Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL and node.value == "" and node.style is None


def _to_bool(value: str) -> bool:
    return value.lower() == "true"


def _none(_: str) -> None:
    return None


# How each implicit type is read; an explicit tag (!!int "x") must still match its pattern.
_MAKERS: dict[str, tuple[re.Pattern[str], Callable[[str], Any]]] = {
    _INT: (_INT_RE, int),
    _FLOAT: (_FLOAT_RE, float),
    _BOOL: (_BOOL_RE, _to_bool),
    _NULL: (_NULL_RE, _none),
}


# ---------------------------------------------------------------------------- syntax errors


def _syntax_problem(error: yaml.YAMLError, text: str, file: str) -> FlowProblem:
    """A YamlSyntax problem placed on the line the editor should look at, in plain words."""
    raw = str(error)
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    else:
        position = getattr(error, "position", 0) or 0  # ReaderError: an index into the text
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    explain, line, column = _explain(error, text, line, column)
    details = {
        "explain_es": explain[0],
        "explain_en": explain[1],
        "fix_es": explain[2],
        "fix_en": explain[3],
        "raw": raw,
        "line": line,
    }
    return YamlSyntax(file=file, line=line, column=column, details=details)


Explanation = tuple[str, str, str, str]
"""(explanation es, explanation en, fix es, fix en)."""

_INDENT: Explanation = (
    "la sangría (los espacios al inicio) de esta línea no cuadra con las de arriba.",
    "the indentation (spaces at the start) of this line does not match the lines above.",
    "Alinea la línea con las demás claves del mismo bloque, usando el mismo número de espacios.",
    "Line it up with the other keys of the same block, using the same number of spaces.",
)
_MISSING_COLON: Explanation = (
    "a esta línea le falta «:» entre la clave y el valor.",
    "this line is missing ':' between the key and the value.",
    "Escribe la clave, dos puntos y un espacio, y luego el valor: «clave: valor».",
    "Write the key, a colon and a space, then the value: 'key: value'.",
)
_COLON_IN_VALUE: Explanation = (
    "el valor tiene «: » dentro y YAML lo confunde con una clave nueva.",
    "the value contains ': ' and YAML takes it for a new key.",
    "Pon el valor entre comillas: clave: \"Horario: de 1 a 11\".",
    "Put the value in quotes: key: \"Hours: 1 to 11\".",
)


def _explain(error: yaml.YAMLError, text: str, line: int, column: int) -> tuple[Explanation, int, int]:
    """Plain words for PyYAML's message, and the line that really holds the mistake."""
    problem = str(getattr(error, "problem", "") or "")
    context = str(getattr(error, "context", "") or "")
    context_mark = getattr(error, "context_mark", None)
    lines = text.splitlines()

    if isinstance(error, yaml.reader.ReaderError):
        return (
            (
                "hay un carácter invisible o de control que no se permite.",
                "there is an invisible or control character that is not allowed.",
                "Borra el carácter (suele venir de copiar y pegar) y vuelve a escribir esa parte.",
                "Delete the character (it usually comes from copy and paste) and retype that part.",
            ),
            line,
            column,
        )
    if "could not find expected ':'" in problem and context_mark is not None:
        # PyYAML notices on the next line; the key without colon is where the scan started.
        return _MISSING_COLON, context_mark.line + 1, context_mark.column + 1
    if "mapping values are not allowed here" in problem:
        return _colon_out_of_place(lines, line, column)
    if "quoted scalar" in context and context_mark is not None:
        return (
            (
                "unas comillas se abren y nunca se cierran.",
                "a quote is opened and never closed.",
                "Cierra las comillas al final del texto, con el mismo tipo (\" o ').",
                "Close the quote at the end of the text, with the same kind (\" or ').",
            ),
            context_mark.line + 1,
            context_mark.column + 1,
        )
    if ("flow sequence" in context or "flow mapping" in context) and context_mark is not None:
        return (
            (
                "un «[» o «{» se abre y no se cierra bien.",
                "a '[' or '{' is opened and not closed properly.",
                "Cierra la lista con «]» en la misma línea, con comas entre elementos: [\"a\", \"b\"]. "
                "Si es texto que empieza con [ o {, ponlo entre comillas.",
                "Close the list with ']' on the same line, with commas between items: [\"a\", \"b\"]. "
                "If it is text starting with [ or {, quote it.",
            ),
            context_mark.line + 1,
            context_mark.column + 1,
        )
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "?"
        return (
            (
                f"un valor no puede empezar con «{char}».",
                f"a value cannot start with '{char}'.",
                f"Pon el texto entre comillas: \"{char}...\".",
                f"Put the text in quotes: \"{char}...\".",
            ),
            line,
            column,
        )
    if "undefined alias" in problem or "while scanning an alias" in context or "while scanning an anchor" in context:
        return (
            (
                "un valor que empieza con «*» o «&» tiene un significado especial en YAML.",
                "a value starting with '*' or '&' has a special meaning in YAML.",
                "Pon el texto entre comillas: \"*promo*\".",
                "Put the text in quotes: \"*promo*\".",
            ),
            line,
            column,
        )
    if "single document" in context:
        return (
            (
                "el archivo tiene más de un documento (una línea «---» en medio).",
                "the file has more than one document (a '---' line in the middle).",
                "Quita la línea «---»: cada archivo es un solo documento.",
                "Remove the '---' line: each file is a single document.",
            ),
            line,
            column,
        )
    if "<block end>" in problem:
        return _block_end(problem), line, column
    return (
        (
            f"YAML dice: {problem or error}.",
            f"YAML says: {problem or error}.",
            "Revisa esta línea y la anterior: sangría, «:» y comillas.",
            "Check this line and the one before: indentation, ':' and quotes.",
        ),
        line,
        column,
    )


def _colon_out_of_place(lines: list[str], line: int, column: int) -> tuple[Explanation, int, int]:
    """``mapping values are not allowed here``: three different mistakes look alike to PyYAML."""
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    before = current[: column - 1]
    if re.search(r"\S:(\s|$)", before):
        return _COLON_IN_VALUE, line, column
    # A key line without colon is read as text that continues on the next line, so the colon
    # there looks misplaced: look for such a line just above, at the same indentation.
    indent = len(current) - len(current.lstrip(" "))
    for number in range(line - 1, 0, -1):
        previous = lines[number - 1]
        stripped = previous.strip()
        if not stripped or stripped.startswith("#"):
            continue
        previous_indent = len(previous) - len(previous.lstrip(" "))
        if previous_indent == indent and not re.search(r":(\s|$)", previous):
            return _MISSING_COLON, number, indent + 1
        looks_like_key = re.match(r"^\s*(- )?[\w-]+:", current) is not None
        if previous_indent < indent and not looks_like_key and re.search(r"^\s*(- )?[^\s#][^:]*:\s+[^|>\s]", previous):
            # A value that goes on to a second line of text, and that text has ": " in it.
            return _COLON_IN_VALUE, line, column
        break
    return _INDENT, line, column


def _block_end(problem: str) -> Explanation:
    if "'<scalar>'" in problem:
        return (
            "hay texto de más después de un valor entre comillas (o la sangría no cuadra).",
            "there is extra text after a quoted value (or the indentation does not match).",
            "Pon todo el valor dentro de las comillas: \"Taco \\\"especial\\\"\" o usa comillas simples por fuera.",
            "Put the whole value inside the quotes, or use single quotes outside.",
        )
    if "'-'" in problem:
        return (
            "un elemento de lista («- ») aparece donde se esperaba «clave: valor».",
            "a list item ('- ') appears where 'key: value' was expected.",
            "Revisa la sangría: los elementos de una lista van debajo de su clave, con más espacios.",
            "Check the indentation: list items go under their key, indented further.",
        )
    if "':'" in problem:
        return (
            "falta la clave antes de «:».",
            "the key is missing before ':'.",
            "Escribe el nombre de la clave antes de los dos puntos.",
            "Write the key's name before the colon.",
        )
    return _INDENT
