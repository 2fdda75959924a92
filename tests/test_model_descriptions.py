"""What `derive models` says of a model: its written description, or, for a model known only by its file (a
user's, or a new built-in without one), the file's title and its statement in textbook notation.

The expected lines are the statements as a textbook writes them, by hand; none is copied from derive's output.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from derive.cli import main
from derive.derivations import DESCRIPTIONS, description, names

MODELS = Path(__file__).parent / "fixtures" / "models"


@pytest.mark.parametrize("file, expected", [
    ("probit.toml", "Probit regression: y_i ~ Bernoulli(Φ(xᵢᵀβ))"),
    ("wls.toml", "Weighted least squares: (y − Xβ)ᵀW(y − Xβ)"),
    ("map_gaussian_prior.toml",
     "MAP linear regression with a Gaussian prior: y_i ~ N(xᵢᵀβ, σ²), prior β ~ N(0, τ²I)"),
    ("penalised_logistic.toml", "L2-penalised logistic regression: y_i ~ Bernoulli(σ(xᵢᵀw)), penalty λ·wᵀw"),
])
def test_a_model_file_is_described_by_its_title_and_its_statement(file, expected):
    assert description(str(MODELS / file)) == expected


def test_a_model_file_without_a_title_is_described_by_what_it_states(tmp_path):
    loss = tmp_path / "lad.toml"
    loss.write_text('symbols = { X = "n x d", y = "n", b = "d" }\nparameters = ["b"]\n'
                    'loss = "(y - X b)\' (y - X b)"\n', encoding="utf-8")
    likelihood = tmp_path / "counts.toml"
    likelihood.write_text('symbols = { y = "n", lam = "pos" }\nparameters = ["lam"]\n'
                          'likelihood = "y_i ~ Poisson(lam)"\n', encoding="utf-8")
    assert description(str(loss)) == "loss: (y − Xb)ᵀ(y − Xb)"
    assert description(str(likelihood)) == "likelihood: y_i ~ Poisson(λ)"


def test_every_built_in_model_has_a_description():
    assert all(description(name) for name in names())


def test_a_built_in_model_without_a_written_description_is_listed_with_its_statement(monkeypatch, capsys):
    monkeypatch.delitem(DESCRIPTIONS, "probit")        # as a new built-in model file arrives, before its line
    assert main(["models"]) == 0
    listed = {line.split()[0]: line.split(None, 1)[1] for line in capsys.readouterr().out.splitlines()}
    assert listed["probit"] == "Probit regression: y_i ~ Bernoulli(Φ(xᵢᵀβ))"
    assert main(["models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["probit"]["description"] == listed["probit"]
