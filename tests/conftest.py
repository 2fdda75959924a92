import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "derive" / "datasets" / "data"  # the shipped reference data
# The console script of the environment running the tests: a `derive` elsewhere on PATH may be another install.
_SCRIPT = Path(sys.executable).parent / "derive"
DERIVE = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "derive"]


def require_tool(name: str) -> str:
    """The path of a system tool; skipped when missing, except in CI (CI=true), where missing is a failure."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path
