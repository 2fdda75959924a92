"""`derive fit` end to end on the NIST StRD certified datasets, Spector and Poisson references."""
import json
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

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


@pytest.mark.parametrize("model, cells, extra, message", [
    ("logistic", "0,1,1\n1,2,1\n2,3,1\n", [], "bad.csv, line 4, column 'y': logistic regression needs y in {0, 1}; y = 2.0"),
    ("poisson", "0,1,1\n1,2,1\n-2,3,1\n", [], "bad.csv, line 4, column 'y': poisson regression needs y to be counts"),
    ("ols", "0,1,1\n1,2,1\n2,3,-1\n", ["--weights", "w"], "bad.csv, line 4, column 'w': the weights must be finite and ≥ 0"),
    ("poisson", "0,1,1\n1,2,0\n2,3,1\n", ["--exposure", "w"], "bad.csv, line 3, column 'w': the exposure must be"),
])
def test_a_value_the_fit_cannot_take_is_named_by_its_line_in_the_file(tmp_path, capsys, model, cells, extra, message):
    """Line numbers as an editor counts them (the header is line 1), not the row of the arrays."""
    (tmp_path / "bad.csv").write_text("y,x,w\n" + cells)
    assert main(["fit", model, str(tmp_path / "bad.csv"), "--target", "y", "--features", "x", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("method", ["auto", "qr", "cholesky"])
def test_extreme_magnitudes_fit_or_give_one_clear_line(tmp_path, capsys, method):
    """Columns near 1e-170 or 1e300 are neither 'constant' nor 'collinear': the fit is scaled by powers
    of two; a y whose residual sum of squares cannot be represented is one line, no RuntimeWarning."""
    import numpy as np
    x, y = np.array([1, 2, 3.5, 5]), np.array([1.0, 2, 4, 3])
    slope = np.polyfit(x, y, 1)[0]
    for scale in (1e-170, 1e300):
        path = tmp_path / "data.csv"
        path.write_text("y,x\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(y.tolist(), (x * scale).tolist())))
        out = fit_json(capsys, "ols", str(path), "--target", "y", "--method", method)
        assert out["coefficients"]["x"] == pytest.approx(slope / scale, rel=1e-12)
        assert capsys.readouterr().err == ""
    path.write_text("y,x\n" + "".join(f"{a * 1e300!r},{b!r}\n" for a, b in zip(y.tolist(), x.tolist())))
    assert main(["fit", "ols", str(path), "--target", "y", "--method", method, "--json"]) == 2
    err = capsys.readouterr().err
    assert "too large to fit in double precision" in err and len(err.strip().splitlines()) == 1


def test_engine_dask_and_parquet_through_the_cli(tmp_path, capsys):
    import pandas as pd
    frame = pd.read_csv(DATASETS / "Longley.csv")
    frame.to_parquet(tmp_path / "longley.parquet")
    memory = fit_json(capsys, "ols", str(DATASETS / "Longley.csv"), "--target", "y")
    for data in (str(DATASETS / "Longley.csv"), str(tmp_path / "longley.parquet")):
        chunked = fit_json(capsys, "ols", data, "--target", "y", "--engine", "dask")
        assert list(chunked["coefficients"]) == list(memory["coefficients"])
        for a, b in zip(chunked["coefficients"].values(), memory["coefficients"].values()):
            assert a == pytest.approx(b, rel=1e-8)  # TSQR on Longley (κ ≈ 5e9 uncentred)


def test_a_failed_plot_keeps_the_printed_fit(capsys, tmp_path):
    assert main(["fit", "ols", str(DATASETS / "Longley.csv"), "--target", "y",
                 "--plot", str(tmp_path / "no" / "such" / "folder.png")]) == 2
    captured = capsys.readouterr()
    assert "estimate" in captured.out and "cannot write" in captured.err and "does not exist" in captured.err


@pytest.mark.parametrize("cells, message", [
    ("1,2\n2,abc\n4,5\n", r"line 3, column 'x': 'abc' is not a number"),
    ("1,2\n2,\n4,5\n", r"line 3, column 'x': empty cell"),
])
def test_engine_dask_names_the_line_of_a_bad_cell(tmp_path, capsys, cells, message):
    import re
    path = tmp_path / "bad.csv"
    path.write_text("y,x\n" + cells)
    assert main(["fit", "ols", str(path), "--target", "y", "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_engine_dask_with_a_formula_over_several_chunks(tmp_path, capsys):
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.uniform(1, 3, 500)})
    frame["y"] = 1 + frame["a"] * frame["b"] - np.log(frame["b"]) + rng.normal(size=500)
    (tmp_path / "parts").mkdir()
    for k, part in enumerate((frame.iloc[:200], frame.iloc[200:])):  # two files: two chunks
        part.to_parquet(tmp_path / "parts" / f"part-{k}.parquet")
    formula = "y ~ a*b + log(b) + I(a^2)"
    memory = fit_json(capsys, "ols", str(tmp_path / "parts"), "--formula", formula)
    chunked = fit_json(capsys, "ols", str(tmp_path / "parts"), "--formula", formula, "--engine", "dask")
    assert list(chunked["coefficients"]) == ["intercept", "a", "b", "a:b", "log(b)", "I(a^2)"]
    for a, b in zip(chunked["coefficients"].values(), memory["coefficients"].values()):
        assert a == pytest.approx(b, rel=1e-10)


def test_ctrl_c_while_the_fit_command_imports_is_one_line_and_exit_130():
    """A SIGINT (Ctrl-C) while `derive fit` imports its libraries (numpy, SymPy, pyarrow: about a second)
    ends it with exit code 130 and one line, never a KeyboardInterrupt traceback. The signal is sent as soon
    as numpy's compiled core is mapped into the process (Linux /proc), so it lands among the imports."""
    process = subprocess.Popen([*DERIVE, "fit", "ols", str(DATASETS / "Longley.csv"), "--target", "y"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline and "_multiarray_umath" not in maps.read_text():
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (130, "derive: interrupted\n"), err
