"""The verifier itself: correct steps pass, every kind of wrong step is caught."""
import pytest
import sympy as sp

from derive.core.steps import (
    Derivation,
    Domains,
    Equal,
    IsGradient,
    IsJacobian,
    Scaled,
    Solves,
    Step,
    dimension,
)
from derive.errors import VerificationError
from derive.expr.symbols import X, beta, y

DOMAINS = Domains({"n": dimension(6, 9)})


def make(before, after, check=None):
    return Step("test", "a test step", before, after, check=check or Equal(), domains=DOMAINS)


def test_a_true_identity_verifies():
    assert make((X * beta).T, beta.T * X.T).verify().verified


@pytest.mark.parametrize("before, after, check", [
    (X.T * X * beta, X.T * X * X.T * X * beta, Equal()),                   # an extra factor
    (y.T * X * beta, beta.T * X.T * y * 2, Equal()),                       # a factor of 2
    (y.T * X * beta, X.T * y * 2, IsGradient(beta)),                       # gradient off by 2
    (beta.T * X.T * X * beta, X.T * X * beta, IsGradient(beta)),          # missing the 2 of a quadratic form
    (2 * X.T * X * beta, X.T * X, IsJacobian(beta)),                       # Hessian off by 2
    (sp.Eq(X.T * X * beta, X.T * y), X.T * y, Solves(beta)),               # not a solution
    (sp.Eq(2 * X.T * X * beta, 2 * X.T * y), sp.Eq(X.T * X * beta, X.T * y), Scaled(1)),  # wrong factor
])
def test_a_corrupted_step_is_caught(before, after, check):
    with pytest.raises(VerificationError):
        make(before, after, check).verify()


def test_derivation_refuses_to_record_a_wrong_step():
    D = Derivation("t", domains=DOMAINS)
    with pytest.raises(VerificationError):
        D.step("expand", "wrongly", (y - X * beta).T * (y - X * beta), y.T * y - X.T)
    assert D.steps == []


def test_sizes_are_drawn_at_random_more_than_once():
    seen = set()
    for seed in range(5):
        import numpy as np
        env = DOMAINS.sample([X], np.random.default_rng(seed))
        seen.add(env["d"])
    assert len(seen) > 1


def test_each_step_is_checked_at_two_different_sizes(monkeypatch):
    import derive.core.steps as steps
    seen = []
    original = steps.Domains.sample

    def spy(self, exprs, rng):
        env = original(self, exprs, rng)
        seen.append((env["n"], env["d"]))
        return env

    monkeypatch.setattr(steps.Domains, "sample", spy)
    make((X * beta).T, beta.T * X.T).verify()
    assert len(set(seen)) >= 2


def test_small_identities_are_also_proved_symbolically():
    step = make((y - X * beta).T * (y - X * beta), y.T * y - y.T * X * beta - beta.T * X.T * y
                + beta.T * X.T * X * beta).verify()
    assert step.verified and step.symbolic
    assert not make(y.T * X * beta, beta.T * X.T * y).verify().symbolic  # true, but beyond SymPy's expand
