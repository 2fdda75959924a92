"""What the worked examples share: section headings, printing a derivation's steps, the datasets folder.

Each example imports it as `from course import ...`; running `python worked_examples/NAME.py` puts this
folder on the import path.
"""
from pathlib import Path

from derive.expr.printing import unicode

# The public reference data (NIST StRD, Spector) shipped inside the package.
DATASETS = Path(__file__).resolve().parents[1] / "derive" / "datasets" / "data"


def heading(title):
    print()
    print(title)
    print("-" * len(title))


def print_steps(derivation):
    """Each step of a derivation on two lines: the rule it used, then the expression it reached."""
    for number, step in enumerate(derivation.steps, start=1):
        mark = "✓" if step.verified else "?"
        print(f"{number:3}. {step.rule}  [{mark}]")
        print(f"       {unicode(step.after)}")


def save_figure(figure, output_dir, name):
    """Write a matplotlib figure as output_dir/name, close it, say where it went; returns the path."""
    import matplotlib.pyplot as plt
    figure.tight_layout()
    path = Path(output_dir) / name
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"\nwrote {path}")
    return path
