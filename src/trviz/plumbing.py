"""Shared plumbing: atomic file writes, a clock that means something on CUDA, dtype names.

Stdlib only at import time (the clock imports torch when it is built), so every layer may use it.

- :func:`write_atomic`: every file trviz writes (matrix, trace, sweep cache, replay page, bench
  result and report) goes through it: a temporary file beside the target, flushed and fsynced,
  then renamed over it. A failure or a signal leaves the previous file intact and no partial
  one. Files come out ``0o644`` unless told otherwise.
- :class:`Clock`: ``perf_counter``, synchronising CUDA first when asked.
- :func:`dtype_name`: ``torch.bfloat16`` -> ``"bfloat16"``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o644


def write_atomic(
    path: str | os.PathLike,
    data: str | bytes | Callable[[IO[bytes]], Any],
    mode: int = FILE_MODE,
) -> Path:
    """Write ``data`` to ``path`` atomically; return the path.

    data: text (written as UTF-8), bytes, or a callable that writes into the binary file object
    it is given (``lambda f: torch.save(obj, f)``). The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, str):
                f.write(data.encode("utf-8"))
            elif isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:
                data(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class Clock:
    """``time.perf_counter``; with ``sync`` on a CUDA device, synchronise first so a reading
    includes the kernels queued before it (timings must mean something)."""

    def __init__(self, device: Any = "cpu", sync: bool = True):
        self.device = device
        self.sync = sync and getattr(device, "type", str(device)).startswith("cuda")
        if self.sync:
            import torch

            self._synchronize = torch.cuda.synchronize

    def __call__(self) -> float:
        if self.sync:
            self._synchronize(self.device)
        return time.perf_counter()


def dtype_name(dtype: Any) -> str:
    """A torch dtype's short name: ``torch.float32`` -> ``"float32"`` (a string stays as is)."""
    return str(dtype).removeprefix("torch.")
