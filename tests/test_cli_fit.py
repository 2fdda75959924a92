"""`derive fit` end to end on the NIST StRD certified datasets, Spector and Poisson references."""
import json
import subprocess
from decimal import Decimal

import pytest
from conftest import DATASETS, DERIVE

from derive.cli import main

NIST = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
        "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]


def lre(estimate: float, certified: str) -> float:
    """Log relative error (McCullough 1998), computed in decimal so the float is compared as it is."""
    c = Decimal(certified)
    error = abs(Decimal(estimate) - c)
    if error == 0:
        return 16.0
    return float(-(error / abs(c)).log10()) if c != 0 else float(-error.log10())


def formula(name: str, spec: dict) -> str:
    if name == "Longley":
        rhs = " + ".join(f"x{k}" for k in range(1, 7))
    else:
        rhs = " + ".join(["x"] + [f"x^{k}" for k in range(2, spec["degree"] + 1)])
    return f"y ~ {rhs}" + ("" if spec["intercept"] else " - 1")


def fit_json(capsys, *args):
    assert main(["fit", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def coefficient_names(spec):
    """Certified B0, B1, ... in design-column order: the intercept first, then the terms."""
    return list(spec["certified"])


@pytest.mark.parametrize("name", NIST)
@pytest.mark.parametrize("method, digits", [("exact", 14), ("auto", 14), ("qr", 7)])
def test_nist_certified_values_through_the_cli(capsys, name, method, digits):
    spec = json.loads((DATASETS / f"{name}.json").read_text())
    out = fit_json(capsys, "ols", str(DATASETS / f"{name}.csv"), "--formula", formula(name, spec),
                   "--method", method)
    assert out["method"] == ("exact" if method == "auto" else method)
    estimates = list(out["coefficients"].values())
    errors = list(out["std_errors"].values())
    for k, key in enumerate(coefficient_names(spec)):
        assert lre(estimates[k], spec["certified"][key]) >= digits, (key, estimates[k])
        assert lre(errors[k], spec["certified_std_errors"][key]) >= digits, (key, errors[k])
    assert lre(out["residual_sd"], spec["residual_sd"]) >= digits


def test_longley_through_the_console_script():
    result = subprocess.run([*DERIVE, "fit", "ols", str(DATASETS / "Longley.csv"), "--target", "y", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    spec = json.loads((DATASETS / "Longley.json").read_text())
    out = json.loads(result.stdout)
    assert list(out["coefficients"])[0] == "intercept"
    for value, certified in zip(out["coefficients"].values(), spec["certified"].values()):
        assert lre(value, certified) >= 14


def test_spector_logit_matches_stata(capsys):
    """Stata held GPA in float32: a float64 fit differs by ~1.3e-7 relative (datasets README)."""
    spec = json.loads((DATASETS / "spector_logit.json").read_text())
    out = fit_json(capsys, "logistic", str(DATASETS / "spector.csv"), "--target", "GRADE")
    assert out["converged"] and out["method"] == "newton"
    for name, reference in spec["params"].items():
        ours = out["coefficients"]["intercept" if name == "const" else name]
        assert ours == pytest.approx(float(reference), rel=1e-6)
        error = out["std_errors"]["intercept" if name == "const" else name]
        assert error == pytest.approx(float(spec["bse"][name]), rel=1e-4)


@pytest.mark.parametrize("args, message", [
    (["ols", "missing.csv", "--target", "y"], "missing.csv"),
    (["ols", str(DATASETS / "Longley.csv"), "--target", "nope"], "nope"),
    (["logistic", str(DATASETS / "Longley.csv"), "--target", "y"], "{0, 1}"),
    (["ridge", str(DATASETS / "Longley.csv"), "--target", "y"], "--lam"),
    (["ols", str(DATASETS / "Longley.csv"), "--formula", "y ~ x1 + __import__('os')"], ""),
])
def test_bad_fits_exit_2_with_one_line(capsys, args, message):
    assert main(["fit", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
