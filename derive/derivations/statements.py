"""What the course's derivations beyond gradients share: each is one statement, in matrix notation only, and a
module holds several of them, looked up by their registry name."""
from __future__ import annotations

from typing import Callable

from derive.core.steps import Derivation
from derive.errors import NotSupported


def matrix_form_only(name: str, form: str) -> None:
    if form != "matrix":
        raise NotSupported(f"no form {form!r} for {name}: it is derived in one notation only (forms: matrix)")


def by_name(statements: dict[str, Callable[[], Derivation]]):
    """The module's `derivation(form, dim, *, name)` for the registry, over {name: function building it}."""
    def derivation(form: str = "matrix", dim: int | None = None, *, name: str) -> Derivation:
        matrix_form_only(name, form)
        return statements[name]()
    return derivation
