"""Every command the README shows works verbatim, and prints what the README says it prints.

What counts as a command: each line of a ```bash block; each `$ ` line of a plain ``` block (the lines after
it, up to the next `$ `, are its output as the README shows it, "..." standing for what is left out); each
inline span that begins with `derive ` or `python `. The ```python blocks run too (doctest where they show
`>>>`). A command's expected exit code follows from what the README shows: 1 for a check's "wrong:" or
"first error:", 2 for an error, 0 otherwise. Commands run in a scratch folder (files they write land there)
that links to the repository's derive/, tests/ and worked_examples/, with this interpreter's `derive` first on PATH.
"""
import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO, require_tool

README = REPO / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The set-up, near the top: install and run, install the test dependencies and run the tests.
SETUP = ["pip install -e . && derive show ols", "pip install -e '.[test]' && pytest"]


@dataclass
class Command:
    text: str
    line: int
    shown: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(s.startswith(("wrong:", "first error:")) for s in self.shown):
            return 1
        if any(s.startswith("derive: error") or '"error": {' in s for s in self.shown):
            return 2
        return 0


def line_of(offset: int) -> int:
    return TEXT.count("\n", 0, offset) + 1


def fenced(language: str):
    """(line of the first line inside, body) of each fenced block in `language` ("" for a plain block)."""
    return [(line_of(m.start(2)), m.group(2)) for m in FENCE.finditer(TEXT) if m.group(1) == language]


def without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def bash_lines() -> list[Command]:
    return [Command(without_comment(text), first + i) for first, body in fenced("bash")
            for i, text in enumerate(body.splitlines()) if without_comment(text)]


def shell_commands() -> list[Command]:
    commands = []
    for first, body in fenced(""):
        for i, text in enumerate(body.splitlines()):
            if text.startswith("$ "):
                commands.append(Command(without_comment(text[2:]), first + i))
            elif commands and commands[-1].line >= first and text.strip():
                commands[-1].shown.append(text.rstrip())
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), TEXT)  # same line numbers, no code blocks
    commands += [Command(m.group(1), prose.count("\n", 0, m.start()) + 1)
                 for m in re.finditer(r"`((?:derive|python) [^`]+)`", prose)]
    for command in bash_lines():  # the set-up: what follows the install is a command; pytest is this run
        _, _, after = command.text.partition(" && ")
        if after and after != "pytest":
            commands.append(Command(after, command.line))
    return sorted(commands, key=lambda c: c.line)


def test_the_set_up_is_the_two_commands():
    assert [c.text for c in bash_lines()] == SETUP


@pytest.fixture
def scratch(tmp_path):
    for folder in ("derive", "tests", "worked_examples"):
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    return tmp_path


def run(command: str, folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)


def unshown(shown: list[str], output: str) -> str | None:
    """The first line the README shows that the output lacks (in order; "..." is any text), or None."""
    lines = [line.rstrip() for line in output.splitlines()]
    at = 0
    for expected in shown:
        if expected == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in expected.split("...")))
        found = next((i for i in range(at, len(lines)) if pattern.fullmatch(lines[i])), None)
        if found is None:
            return expected
        at = found + 1
    return None


@pytest.mark.parametrize("command", shell_commands(), ids=lambda c: f"README.md:{c.line}")
def test_every_readme_command_works(command, scratch):
    if "pdflatex" in command.text or re.search(r"\bnotes\b.*\.pdf", command.text):
        require_tool("pdflatex")
    result = run(command.text, scratch)
    where = f"README.md line {command.line}: {command.text}"
    assert result.returncode == command.exit_code, f"{where}\nexit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{where}\n{result.stderr}"
    missing = unshown(command.shown, result.stdout + result.stderr)
    assert missing is None, f"{where}\nthe README shows {missing!r}; the command printed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("first, body", fenced("python"), ids=lambda x: f"README.md:{x}" if isinstance(x, int) else "")
def test_every_readme_python_block_runs(first, body, scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    if ">>>" in body:
        test = doctest.DocTestParser().get_doctest(body, {}, "README", str(README), first - 1)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        report = []
        runner.run(test, out=report.append)
        assert runner.failures == 0, "".join(report)
    else:
        exec(compile(body, f"README.md line {first}", "exec"), {"__name__": "readme"})
