"""The public Python API as a user meets it: typed, documented in itself, and versioned."""
import inspect
import pydoc
import re
import typing
from pathlib import Path

import pytest

import derive
from derive import datasets
from derive.checking.answers import CheckResult
from derive.checking.code import CodeCheckResult
from derive.checking.line_checking import StepsResult
from derive.fitting.result import FitResult

FUNCTIONS = [getattr(derive, name) for name in derive.__all__ if inspect.isfunction(getattr(derive, name))]
RESULTS = {"FitResult": FitResult, "CheckResult": CheckResult, "StepsResult": StepsResult,
           "CodeCheckResult": CodeCheckResult}
# What a user reaches from `import derive`: the functions, the records they return, the shipped datasets.
PUBLIC = [*FUNCTIONS, derive.Derivation, derive.Step, *RESULTS.values(), datasets, datasets.Dataset,
          datasets.load, datasets.names, datasets.find, datasets.path_of]
# A reference to a document the user does not have: "DESIGN §6", "see §4".
ELSEWHERE = re.compile(r"DESIGN|§\s*\d")


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_public_function_has_annotations_that_name_real_types(function):
    assert "return" in function.__annotations__, f"derive.{function.__name__} has no return annotation"
    # the result classes are imported for type checkers only; resolve every annotation with them in scope
    hints = typing.get_type_hints(function, globalns={**vars(derive), **RESULTS})
    assert hints["return"] is not None


def test_the_package_says_it_is_typed():
    package = Path(derive.__file__).parent
    assert (package / "py.typed").is_file()
    pyproject = (package.parent / "pyproject.toml").read_text()
    assert '"derive" = ["py.typed"]' in pyproject  # shipped in the wheel, not only in the source tree


def public_docstrings():
    for thing in PUBLIC:
        yield getattr(thing, "__qualname__", thing.__name__), inspect.getdoc(thing) or ""
        if inspect.isclass(thing):
            for name, member in vars(thing).items():
                if not name.startswith("_") and (inspect.getdoc(member) or "") != (inspect.getdoc(thing) or ""):
                    yield f"{thing.__name__}.{name}", inspect.getdoc(member) or ""


@pytest.mark.parametrize("name, doc", list(public_docstrings()), ids=lambda x: x if isinstance(x, str) and
                         len(x) < 40 else "")
def test_no_public_docstring_sends_the_user_to_a_file_they_do_not_have(name, doc):
    assert not ELSEWHERE.search(doc), f"{name}: {doc}"


def test_help_for_fit_says_the_thing_itself():
    text = pydoc.render_doc(derive.fit, renderer=pydoc.plaintext)
    assert "FitResult" in text and "qr" in text and not ELSEWHERE.search(text)


def test_every_public_function_is_documented():
    assert all(inspect.getdoc(function) for function in FUNCTIONS)
