"""The verifier itself: correct steps pass, every kind of wrong step is caught."""
import numpy as np
import pytest
import sympy as sp

from derive.core.random_points import Domains, dimension
from derive.core.steps import Derivation, Equal, IsGradient, IsJacobian, Scaled, Solves, Step
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
    sizes = [(env["n"], env["d"]) for env in DOMAINS.points([X], seed=0, sizes=3, per_size=2)]
    assert len({d for _, d in sizes}) > 1
    assert sizes[0] == sizes[1] and sizes[2] == sizes[3]          # the points of one draw share its sizes
    assert sizes[0][1] != sizes[2][1] != sizes[4][1]              # each draw differs from the one before


def test_each_step_is_checked_at_two_different_sizes(monkeypatch):
    seen = []
    original = Domains.points

    def spy(self, exprs, **options):
        envs = original(self, exprs, **options)
        seen.extend((env["n"], env["d"]) for env in envs)
        return envs

    monkeypatch.setattr(Domains, "points", spy)
    make((X * beta).T, beta.T * X.T).verify()
    assert len(set(seen)) >= 2


def test_every_inverted_matrix_is_well_conditioned_at_the_points():
    A = sp.MatrixSymbol("A", 2, 2)
    nearly_singular = Domains({"A": lambda rng, shape: np.ones(shape) + 1e-12 * rng.standard_normal(shape)
                               if rng.uniform() < 0.5 else np.eye(2) + rng.uniform(0, 1) * np.ones(shape)})
    for env in nearly_singular.points([A.I], seed=1, sizes=3):
        assert np.linalg.cond(env["A"]) < 1e8


def test_a_differential_leaf_gets_a_random_direction():
    from derive.expr.notation import d, differential_key
    (env,) = Domains().points([d(beta)], sizes=1, per_size=1)
    assert env[differential_key(beta)].shape == env["beta"].shape


def test_small_identities_are_also_proved_symbolically():
    step = make((y - X * beta).T * (y - X * beta), y.T * y - y.T * X * beta - beta.T * X.T * y
                + beta.T * X.T * X * beta).verify()
    assert step.verified and step.symbolic
    assert not make(y.T * X * beta, beta.T * X.T * y).verify().symbolic  # true, but beyond SymPy's expand
