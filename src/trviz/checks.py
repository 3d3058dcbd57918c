"""Argument checks shared by the public API and the command line. Stdlib only.

A number that means nothing (0 tokens, a negative count, a bool where an int belongs, a float
where a count belongs) is refused with a typed error naming the argument, never replaced by a
default. ``bool`` is an ``int`` in Python; here it is not a number.
"""

from __future__ import annotations

import numbers
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from trviz.errors import ConfigError, TrvizError


def is_int(x: Any) -> bool:
    """An integer that is not a bool (numpy and torch integer scalars count)."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_real(x: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def int_at_least(name: str, value: Any, minimum: int, error: type[TrvizError] = ConfigError) -> int:
    """``value`` as a plain int if it is an int ``>= minimum``; else ``error`` naming ``name``."""
    if not is_int(value) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise error(f"{name} must be {kind}, got {value!r}")
    return int(value)


def check_flag(name: str, value: Any, allow_none: bool = False) -> None:
    """``value`` must be True or False (or None when ``allow_none``)."""
    if isinstance(value, bool) or (allow_none and value is None):
        return
    allowed = "True, False or None" if allow_none else "True or False"
    raise ConfigError(f"{name} must be {allowed}, got {value!r}")


def input_file(path: str | os.PathLike, what: str, max_bytes: int, error: type[TrvizError]) -> int:
    """The size of ``path`` if it is a regular file of at most ``max_bytes``; else ``error``.

    Checked before reading, so a device (``/dev/zero``), a pipe or a huge file is refused without
    touching memory. A missing file raises FileNotFoundError, as ``open`` does.
    """
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path} is a folder, not a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path} is not a regular file (a device or a pipe?), not a {what} file")
    if st.st_size > max_bytes:
        raise error(
            f"{path} is {st.st_size / 1e6:,.0f} MB, more than the {max_bytes / 1e6:,.0f} MB a "
            f"{what} file may have here; pass max_bytes= to read it anyway"
        )
    return st.st_size


def output_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` if a file can be written there (its folder is created on write); else a
    ConfigError naming ``what`` (``"--json"``). Checked before any work by opening a nameless
    temporary file in the nearest existing folder: nothing is left behind."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path}: is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{what} {path}: the file is read-only")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{what} {path}: {folder} is a file, not a folder")
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError("permission denied")
        with tempfile.TemporaryFile(dir=folder):  # the real test (read-only mounts, /proc...)
            pass
    except OSError as e:
        raise ConfigError(f"{what} {path}: cannot write in {folder} ({e.strerror or e})") from e
    return path
