"""The ``rinconcito`` command line: validate, test and chat, in-process and as a real process.

Broken flows are always copies in a temporary folder; the real ``flows/`` is only read.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
GITHUB = re.compile(r"^::(error|warning) file=([^,]+),line=(\d+),col=(\d+)(?:,title=[^:]*)?::(.+)$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


# ------------------------------------------------------------------ helpers


def run(capsys, *argv: str) -> tuple[object, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr). A crash shows up as its traceback."""
    try:
        code: object = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    except Exception:  # noqa: BLE001 - a crash is what the tests below look for
        traceback.print_exc()
        code = "crash"
    out, err = capsys.readouterr()
    return code, out, err


def copy_flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should appear exactly once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def position(folder: Path, name: str, fragment: str, at: str) -> tuple[int, int]:
    text = (folder / name).read_text(encoding="utf-8")
    index = text.index(fragment) + fragment.index(at)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def break_next(folder: Path) -> tuple[int, int]:
    """The "next" of the address step names a step that does not exist; where that is."""
    edit(folder, "order.yaml", "    next: contacto\n", "    next: contato\n")
    return position(folder, "order.yaml", "    next: contato\n", "contato")


def process(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *argv], cwd=cwd, capture_output=True, text=True, timeout=120,
    )


# ------------------------------------------------------------------ validate


def test_validate_shipped_flows(capsys):
    code, out, err = run(capsys, "validate", str(FLOWS))
    assert code == 0, out + err
    assert "✅ Los flujos están bien" in out
    assert "error" not in out and "aviso" not in out
    assert "Traceback" not in out + err


def test_validate_shipped_flows_as_a_real_process():
    done = process("validate", "flows", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


SERVER_LIBRARIES = ("uvicorn", "starlette", "twilio", "supabase", "redis", "httpx", "engine.http", "engine.service")


@pytest.mark.parametrize("argv", [("validate", "flows"), ("test", "flows/tests/comandos.yaml")])
def test_commands_that_read_flows_load_no_server_library(argv):
    """Each command's module is imported only when it runs: validating stays quick."""
    script = (
        "import sys\n"
        "from engine.cli.main import main\n"
        f"code = main({list(argv)!r})\n"
        f"libraries = {SERVER_LIBRARIES!r}\n"
        "print(code, sorted(lib for lib in libraries if any(m == lib or m.startswith(lib + '.') for m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_validate_broken_copy(capsys, tmp_path, monkeypatch):
    folder = copy_flows(tmp_path)
    line, column = break_next(folder)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "validate", "flows")
    assert code == 1
    assert f"flows/order.yaml:{line}:{column}: error: El paso «contato» no existe." in out
    assert "dónde: order.yaml › steps › direccion › next" in out
    assert "cómo arreglarlo: Escribe el nombre de un paso de «steps»" in out
    assert "¿Quisiste decir «contacto»?" in out
    assert "1 error" in out + err
    assert "Traceback" not in out + err


def test_validate_broken_copy_as_a_real_process(tmp_path):
    folder = copy_flows(tmp_path)
    line, column = break_next(folder)
    done = subprocess.run(
        [sys.executable, "-m", "engine", "validate", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"order.yaml:{line}:{column}" in output
    assert "El paso «contato» no existe" in output
    assert "Traceback" not in output


def test_validate_in_english_as_documented(capsys, tmp_path):
    # `validate [DIR] [--format github] [--lang en]`
    folder = copy_flows(tmp_path)
    line, column = break_next(folder)
    code, out, err = run(capsys, "validate", str(folder), "--lang", "en")
    assert code == 1, out + err
    assert f"order.yaml:{line}:{column}: error: There is no step 'contato'." in out
    assert "where: order.yaml › steps › direccion › next" in out
    assert "how to fix: Name a step under 'steps'" in out
    assert "Did you mean 'contacto'?" in out
    assert "El paso" not in out and "Quisiste" not in out


def test_validate_in_english_before_the_command(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    break_next(folder)
    code, out, err = run(capsys, "--lang", "en", "validate", str(folder))
    assert code == 1, out + err
    assert "There is no step 'contato'." in out
    assert "how to fix:" in out
    assert "Did you mean 'contacto'?" in out
    assert "Quisiste" not in out


def test_validate_github_annotations(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    line, column = break_next(folder)
    code, out, err = run(capsys, "validate", str(folder), "--format", "github")
    assert code == 1, out + err
    annotations = [GITHUB.match(l) for l in out.splitlines() if l.startswith("::")]
    assert len(annotations) == 1 and annotations[0], out
    level, file, got_line, got_column, text = annotations[0].groups()
    assert level == "error"
    assert Path(file).resolve() == (folder / "order.yaml").resolve()
    assert (int(got_line), int(got_column)) == (line, column)
    assert text.startswith("El paso «contato» no existe.")
    assert "¿Quisiste decir «contacto»?" in text
    assert f"::error file={file},line={line},col={column}" in out
    assert "Traceback" not in out + err


def test_validate_github_annotations_for_a_multiline_problem_stay_on_one_line(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    next: contacto\n", "    next: contato\n")
    edit(folder, "hours.yaml", "timezone: America/Mexico_City\n", "timezone: America/Mexico_Cty\n")
    code, out, err = run(capsys, "--lang", "en", "validate", str(folder), "--format", "github")
    assert code == 1, out + err
    lines = [l for l in out.splitlines() if l.startswith("::")]
    assert len(lines) == 2 and all(GITHUB.match(l) for l in lines), out  # no text spills onto a second line
    assert any("hours.yaml" in l and "Did you mean 'America/Mexico_City'?" in l for l in lines)


def test_validate_warning_only_passes(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "messages.yaml", "\nerror: |-\n", "\npromo: |-\n  ¡Martes de 2x1 en pastor! 🌮\n\nerror: |-\n")
    code, out, err = run(capsys, "validate", str(folder))
    assert code == 0, out + err
    assert "aviso: Nadie usa el mensaje «promo»." in out
    code, out, err = run(capsys, "validate", str(folder), "--format", "github")
    assert code == 0, out + err
    match = GITHUB.match(out.strip())
    assert match and match.group(1) == "warning", out


def test_validate_reports_every_file_at_once(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    break_next(folder)
    edit(folder, "menu.yaml", "      - id: suadero\n", "      - id: pastor\n")
    edit(folder, "hours.yaml", '  tuesday: "13:00-23:00"\n', '  tuesday: "13:00-13:00"\n')
    code, out, err = run(capsys, "validate", str(folder))
    assert code == 1
    for name in ("order.yaml", "menu.yaml", "hours.yaml"):
        assert re.search(rf"{name}:\d+:\d+: error: ", out), out
    assert "3 error" in out + err


BROKEN = {
    "yaml syntax error": ("order.yaml", "    kind: message\n    say: closed\n", "    kind: message\n   say: closed\n"),
    "empty file": ("menu.yaml", None, ""),
    "tab indentation": ("hours.yaml", "  monday: closed\n", "\tmonday: closed\n"),
    "duplicate key": ("hours.yaml", '  tuesday: "13:00-23:00"\n', '  tuesday: "13:00-23:00"\n  tuesday: closed\n'),
    "price written in words": ("menu.yaml", "        price: 22\n", "        price: 22 pesos\n"),
    "unknown option group": ("menu.yaml", "        options: [sabor]\n", "        options: [sabores]\n"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_validate_never_prints_a_traceback(capsys, tmp_path, case):
    name, old, new = BROKEN[case]
    folder = copy_flows(tmp_path)
    if old is None:
        (folder / name).write_text(new, encoding="utf-8")
    else:
        edit(folder, name, old, new)
    code, out, err = run(capsys, "validate", str(folder))
    assert "Traceback" not in out + err, out + err
    assert code == 1, out + err
    assert re.search(rf"{re.escape(name)}:\d+:\d+: error: ", out), out
    assert "cómo arreglarlo: " in out


def test_validate_empty_file_says_so(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    (folder / "menu.yaml").write_text("", encoding="utf-8")
    code, out, err = run(capsys, "validate", str(folder))
    assert code == 1
    assert "menu.yaml:1:1: error: El archivo está vacío." in out
    assert "Traceback" not in out + err


def test_validate_yaml_syntax_error_points_at_the_line(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    edit(folder, "order.yaml", "    kind: message\n    say: closed\n", "    kind: message\n   say: closed\n")
    line, _ = position(folder, "order.yaml", "   say: closed\n", "say")
    code, out, err = run(capsys, "validate", str(folder))
    assert code == 1
    assert re.search(rf"order\.yaml:{line}:\d+: error: No se puede leer el archivo", out), out
    assert "Traceback" not in out + err


def test_validate_missing_directory(capsys, tmp_path):
    missing = tmp_path / "no-such-folder"
    code, out, err = run(capsys, "validate", str(missing))
    assert code == 1
    assert "Traceback" not in out + err
    assert "no-such-folder" in out + err
    assert "Falta" in out + err


def test_validate_missing_directory_as_a_real_process(tmp_path):
    done = process("validate", str(tmp_path / "no-such-folder"), cwd=ROOT)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr


def test_validate_yaml_error_as_a_real_process(tmp_path):
    folder = copy_flows(tmp_path)
    (folder / "restaurant.yaml").write_text('name: "El Rinconcito\nphone: 55\n', encoding="utf-8")
    done = process("validate", str(folder), "--format", "github", cwd=ROOT)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert re.search(r"^::error file=[^,]*restaurant\.yaml,line=1,col=\d+", done.stdout, re.M), done.stdout


def test_bad_arguments_exit_2_without_traceback(capsys):
    code, out, err = run(capsys, "validate", "--format", "xml")
    assert code == 2
    assert "Traceback" not in out + err


# ------------------------------------------------------------------ test


CONVERSATIONS = """\
# yaml-language-server: $schema=../schemas/conversation.schema.json
tests:
  - name: Saludo
    at: "2026-11-27 14:00"
    turns:
      - send: hola
        expect: "Bienvenido"
  - name: Espera una tortilla que no existe
    at: "2026-11-27 14:00"
    turns:
      - send: hola
        expect: "Bienvenido"
      - send: 3 pastor
        expect: "Tortilla de trigo"
      - send: maíz
        expect: "¿Cómo los preparamos?"
  - name: Espera otro total
    at: "2026-11-27 14:00"
    turns:
      - send: hola
      - send: 3 pastor
      - send: maíz
      - send: con todo
      - send: listo
      - send: "1"
      - send: Ana
      - send: este
      - send: efectivo
      - send: sí
        expect_order:
          total: 67
"""


def test_test_command_on_the_shipped_tests(capsys):
    code, out, err = run(capsys, "test", "--dir", str(FLOWS))
    assert "Traceback" not in out + err
    summary = SUMMARY.findall(out)
    assert summary, out
    passed, failed = map(int, summary[-1])
    assert failed == 0, out
    assert passed >= 1
    assert code == 0
    assert out.strip().splitlines()[-1] == f"{passed} passed, 0 failed"


def test_test_command_as_a_real_process():
    done = process("test", cwd=ROOT)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^\d+ passed, 0 failed$", done.stdout, re.M)


def test_test_command_reports_a_broken_expectation(capsys, tmp_path):
    tests = tmp_path / "pruebas.yaml"
    tests.write_text(CONVERSATIONS, encoding="utf-8")
    code, out, err = run(capsys, "test", "--dir", str(FLOWS), str(tests))
    assert "Traceback" not in out + err
    assert code == 1, out + err
    assert out.strip().splitlines()[-1] == "1 passed, 2 failed"
    assert "✓" in out and "Saludo" in out
    # The failing conversation, up to the failing turn, and what was expected.
    failing = out[out.index("Espera una tortilla que no existe") :]
    failing = failing[: failing.index("Espera otro total")]
    assert "👤 hola" in failing and "Bienvenido a *El Rinconcito*" in failing
    assert "👤 3 pastor" in failing and "¿Tortilla de maíz o de harina?" in failing
    assert "esperaba «Tortilla de trigo»" in failing
    assert "👤 maíz" not in failing  # the conversation stops at the failing turn
    # The failing test is named with its file and line.
    line = CONVERSATIONS.splitlines().index("  - name: Espera una tortilla que no existe") + 1
    assert f"pruebas.yaml:{line} Espera una tortilla que no existe" in out
    # An expectation on the saved order.
    order = out[out.index("Espera otro total") :]
    assert "👤 sí" in order
    assert "total" in order and "67" in order and "66" in order


def test_test_command_with_only_passing_files(capsys, tmp_path):
    tests = tmp_path / "pruebas.yaml"
    tests.write_text(CONVERSATIONS.split("  - name: Espera una tortilla")[0], encoding="utf-8")
    code, out, err = run(capsys, "test", "--dir", str(FLOWS), str(tests))
    assert code == 0, out + err
    assert out.strip().splitlines()[-1] == "1 passed, 0 failed"


def test_test_command_with_a_broken_test_file(capsys, tmp_path):
    tests = tmp_path / "pruebas.yaml"
    tests.write_text('tests:\n  - name: "Sin cerrar\n    at: 2026-11-27 14:00\n', encoding="utf-8")
    code, out, err = run(capsys, "test", "--dir", str(FLOWS), str(tests))
    assert "Traceback" not in out + err
    assert code == 1
    assert re.search(r"pruebas\.yaml:\d+:\d+: error: ", out + err), out + err
    assert out.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_test_command_with_a_missing_test_file(capsys, tmp_path):
    code, out, err = run(capsys, "test", "--dir", str(FLOWS), str(tmp_path / "nada.yaml"))
    assert "Traceback" not in out + err
    assert code == 1


def test_test_command_with_broken_flows(capsys, tmp_path):
    folder = copy_flows(tmp_path)
    break_next(folder)
    code, out, err = run(capsys, "test", "--dir", str(folder))
    assert "Traceback" not in out + err
    assert code == 1
    assert "El paso «contato» no existe" in out + err


# ------------------------------------------------------------------ chat


ORDER = ["hola", "3 pastor", "maíz", "con todo", "listo", "1", "Ana", "este", "efectivo", "sí", "/salir"]


def chat(capsys, monkeypatch, lines: list[str], *argv: str) -> tuple[object, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{l}\n" for l in lines)))
    return run(capsys, "chat", "--dir", str(FLOWS), *argv)


def test_chat_prints_replies_and_effects_apart(capsys, monkeypatch):
    code, out, err = chat(capsys, monkeypatch, ORDER, "--at", "2026-11-27 14:00")
    assert code == 0, out + err
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert any(l.startswith("🤖 ") and "Bienvenido a *El Rinconcito*" in l for l in lines), out
    assert any(l.startswith("🤖 ") and "¿Tortilla de maíz o de harina?" in l for l in lines), out
    confirmed = next(i for i, l in enumerate(lines) if l.startswith("🤖 ") and "#1001" in l)
    saved = next(i for i, l in enumerate(lines) if "pedido guardado" in l)
    assert saved > confirmed
    # Effects are on their own lines, marked apart from what the bot says.
    assert not lines[saved].startswith("🤖")
    assert "⚙️" in lines[saved] and "total $66" in lines[saved] and "1 línea" in lines[saved]
    admin = [l for l in lines if "aviso al admin" in l]
    assert len(admin) == 1 and not admin[0].startswith("🤖") and "#1001" in admin[0]
    replies = "\n".join(l for l in lines if not l.lstrip().startswith("⚙️"))
    assert "pedido guardado" not in replies and "aviso al admin" not in replies


def test_chat_shows_buttons_and_a_tap_is_a_tap(capsys, monkeypatch):
    lines = ["hola", "3 pastor", "/tap", "/tap pedir:tortilla:harina", "sin cebolla", "/tap pedir:tortilla:maiz",
             "listo", "/tap entrega:pickup", "Ana", "este", "Efectivo", "no", "/tap corregir:nada", "/tap confirmar:yes",
             "/tap", "/salir"]
    code, out, err = chat(capsys, monkeypatch, lines, "--at", "2026-11-27 14:00")
    assert code == 0 and "Traceback" not in out + err, out + err
    # The numbered question as today, its buttons under it.
    assert "   1. Maíz\n   2. Harina (+$3)\n   🔘 [ Maíz ] [ Harina (+$3) ]\n" in out
    assert "uso: /tap <id>: pedir:tortilla:maiz (Maíz) · pedir:tortilla:harina (Harina (+$3))" in out
    assert "🔘 [ Con todo ] [ Sin cebolla ] [ Sin cilantro ]" in out  # /tap answered the tortilla
    assert "Agregué 3 × Taco al pastor (harina, sin cebolla)" in out  # a title typed: a tap too
    # A tap is read by its id: a button of an earlier message is told apart from typed words.
    assert "Ese botón era de un mensaje anterior" in out
    assert "🔘 [ Recoger en el local ] [ A domicilio ]" in out and "¿A nombre de quién va el pedido?" in out
    assert "   📋 [ Ver opciones ]\n      · Platillos\n      · Entrega\n      · Pago\n      · Nada, así está bien\n" in out
    assert out.count("¿Lo confirmamos?") == 2 and "Tu pedido es el *#1001*" in out
    assert "el último mensaje no tiene botones" in out


def test_chat_typed_answers_still_work_beside_the_buttons(capsys, monkeypatch):
    code, out, err = chat(capsys, monkeypatch, ["hola", "3 pastor", "de harina porfa", "2", "/salir"], "--at", "2026-11-27 14:00")
    assert code == 0, out + err
    assert "Agregué 3 × Taco al pastor (harina, sin cebolla)" in out
    assert "Ese botón" not in out


def test_chat_when_closed(capsys, monkeypatch):
    code, out, err = chat(capsys, monkeypatch, ["hola", "/salir"], "--at", "2026-11-30 14:00")  # a Monday
    assert code == 0, out + err
    assert "🤖 " in out and "cerrados" in out
    assert "⚙️" not in out


def test_chat_clock_and_location_commands(capsys, monkeypatch):
    code, out, err = chat(capsys, monkeypatch, ["hola", "/espera 31m", "/ubicacion nada", "/salir"], "--at", "2026-11-27 14:00")
    assert code == 0, out + err
    assert "ahora: 2026-11-27 14:31" in out
    assert "uso: /ubicacion" in out
    assert "Traceback" not in out + err


def test_chat_with_a_bad_moment(capsys, monkeypatch):
    code, out, err = chat(capsys, monkeypatch, ["hola"], "--at", "mañana a mediodía")
    assert "Traceback" not in out + err
    assert code == 1


def test_chat_with_broken_flows(capsys, monkeypatch, tmp_path):
    folder = copy_flows(tmp_path)
    break_next(folder)
    monkeypatch.setattr(sys, "stdin", io.StringIO("hola\n"))
    code, out, err = run(capsys, "chat", "--dir", str(folder), "--at", "2026-11-27 14:00")
    assert "Traceback" not in out + err
    assert code == 1
    assert "El paso «contato» no existe" in out + err
    assert "🤖" not in out


def test_conversation_test_naming_an_item_the_menu_does_not_have(tmp_path, capsys):
    broken = tmp_path / "x.yaml"
    text = (ROOT / "flows" / "tests" / "pedido-recoger.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("item: pastor", "item: pastorr").replace("tortilla: maiz", "tortilla: maíz"), encoding="utf-8")
    assert main(["test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "El platillo «pastorr» no está en el menú." in out and "¿Quisiste decir «pastor»?" in out
    broken.write_text(text.replace("tortilla: maiz", "tortilla: maíz"), encoding="utf-8")
    assert main(["test", str(broken)]) == 1
    assert "«tortilla: maíz» no es una opción de «pastor»" in capsys.readouterr().out


def test_chat_prints_the_order_total_in_the_restaurants_money(capsys, monkeypatch):
    lines = ["hi", "2 large pepperoni and a coke", "that's all", "pick up", "Sam", "no", "card", "yes please", "/exit"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{l}\n" for l in lines)))
    code, out, err = run(capsys, "chat", "--dir", str(ROOT / "examples" / "nonna-rosa" / "flows"), "--at", "2026-11-27 18:00")
    assert code == 0, out + err
    saved = [l for l in out.splitlines() if "pedido guardado" in l]
    assert len(saved) == 1 and "total $45.50" in saved[0], out  # dollars and cents, not "$4550"


def test_graph_prints_every_step_of_the_order_flow_as_mermaid_and_dot(capsys, flows):
    code, out, err = run(capsys, "graph", "--dir", str(FLOWS))
    assert code == 0, err
    assert out.startswith("flowchart TD")
    assert all(f'["{step_id}<br/>' in out for step_id in flows.order.steps), out
    code, dot, err = run(capsys, "graph", "--format", "dot", "--dir", str(FLOWS))
    assert code == 0, err
    assert dot.startswith("digraph flow {") and dot.rstrip().endswith("}")
    assert all(f'"{step_id}"' in dot for step_id in flows.order.steps)


def test_graph_of_broken_flows_reports_them(capsys, tmp_path):
    code, out, err = run(capsys, "graph", "--dir", str(tmp_path))
    assert code == 1 and "Traceback" not in out + err and "restaurant.yaml" in err
