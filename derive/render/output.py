"""Files written whole or not at all: a temporary file in the same folder, then an atomic rename.

A reader never sees half a document, and an interrupted or failed write leaves the old file (or none) and
no temporary behind.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from derive.errors import DeriveError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, with its suffix (so a writer can tell the format), that replaces
    `path` when the block ends without an error and is removed when it raises."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise DeriveError(f"cannot write {path}: folder {folder} does not exist")
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}.", suffix=target.suffix)
    except OSError as error:
        raise DeriveError(f"cannot write {path}: {error.strerror}") from None
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result is an ordinary file
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise DeriveError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: str | Path, text: str) -> None:
    """Write the whole text file (UTF-8) or nothing."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
