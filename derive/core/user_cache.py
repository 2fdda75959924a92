"""Files `derive` keeps between runs to start faster, in the user's cache directory.

The directory is `$DERIVE_CACHE_DIR`, else `$XDG_CACHE_HOME/derive`, else `~/.cache/derive` (none without a
home directory): never inside the installed package, which may be read-only or shared between users.  A
cache is only ever a shortcut: every entry is named by a hash of everything it was made from (so a new
version of `derive`, of a library or of Python never reads an old entry), every write is atomic (a rename,
so a reader never sees half a file), and a missing, corrupt or unwritable cache is silently no cache.
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional


def cache_dir() -> Optional[Path]:
    """The directory for derive's cache files (it need not exist yet); None when there is no home directory."""
    explicit = os.environ.get("DERIVE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "derive"
    try:
        return Path.home() / ".cache" / "derive"
    except RuntimeError:  # no HOME and no password entry (a bare container): no cache
        return None


def entry_name(kind: str, *sources: str) -> str:
    """A file name for a cache entry of `kind`, fixed by every text it was made from."""
    digest = hashlib.sha256("\0".join(sources).encode("utf-8")).hexdigest()[:32]
    return f"{kind}-{digest}"


@functools.lru_cache(maxsize=None)
def source_fingerprint() -> str:
    """A hash of derive's own code and model files: an entry made from derived (verified) results names
    it, so an edited or upgraded `derive` never reads what another `derive` derived."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(package)).encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read(name: str) -> Optional[bytes]:
    """The bytes stored under `name`, or None when there is no readable entry."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return (directory / name).read_bytes()
    except (OSError, ValueError):
        return None


def write(name: str, data: bytes) -> None:
    """Store `data` under `name` atomically; if the cache cannot be written, do nothing."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, directory / name)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass
