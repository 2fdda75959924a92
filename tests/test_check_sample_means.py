"""x̄ in a checked answer is the sample mean of the model's observed vector x (t̄ of t, ȳ of y), in every model
that has one, built-in or model file: the textbook estimates p̂ = x̄, λ̂ = 1/x̄ and σ̂² = (1/n)Σᵢxᵢ² − x̄² are
accepted as written, a wrong one is rejected, and x̄ where the model observes no x is named with how to write
a mean instead.

The answers are the textbook results (Casella & Berger, Statistical Inference, §7.2), not derive's output.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from verdicts import assert_accepted, assert_rejected

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN = ROOT / "derive" / "derivations" / "models"
FIXTURES = Path(__file__).parent / "fixtures" / "models"

TEXTBOOK = [
    ("bernoulli", r"\bar x"),
    ("exponential", r"\frac{1}{\bar x}"),
    ("gaussian", r"(\bar x, \frac{1}{n}\sum_{i=1}^n (x_i - \bar x)^2)"),
    ("gaussian", r"\frac{1}{n}\sum_{i=1}^n x_i^2 - \bar{x}^2"),
]


@pytest.mark.parametrize("name, answer", TEXTBOOK)
@pytest.mark.parametrize("as_file", [False, True], ids=["built-in", "model-file"])
def test_the_textbook_estimate_in_terms_of_the_sample_mean_is_accepted(name, answer, as_file):
    assert_accepted(str(BUILT_IN / f"{name}.toml") if as_file else name, "solution", answer)


def test_the_mean_of_a_vector_named_otherwise_carries_its_name():
    assert_accepted(str(FIXTURES / "exponential_rate.toml"), "solution", r"1/\bar t")


def test_a_wrong_estimate_in_terms_of_the_sample_mean_is_rejected():
    assert_rejected(str(BUILT_IN / "bernoulli.toml"), "solution", r"1 - \bar x", ["not equivalent"])


def test_a_mean_of_observations_the_model_does_not_have_says_how_to_write_a_mean():
    assert_rejected("wls", "solution", r"\bar x", ["x̄", "sum(v)/n"])


def test_the_command_line_check_of_a_model_file_reads_the_sample_mean():
    done = subprocess.run([sys.executable, "-m", "derive", "check", str(BUILT_IN / "gaussian.toml"), "solution",
                           r"\hat\sigma^2 = \frac{1}{n}\sum_{i=1}^n (x_i - \bar x)^2"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("correct") and "x̄ = 𝟏ᵀx/n" in done.stdout
