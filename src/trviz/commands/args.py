"""Argument types and up-front checks shared by the commands.

The command line is the edge: parse, check every argument and file, then load and work. These
run before any model loads, so a typo costs nothing; what they refuse is a
:class:`~trviz.errors.TrvizError` (or an argparse error), which ``trviz`` prints as one line.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from trviz.checks import output_file
from trviz.errors import ConfigError


def positive_int(text: str) -> int:
    """argparse type: an int >= 1 (0 and negative counts mean nothing; never a default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {value}")
    return value


def check_model_args(args: argparse.Namespace) -> None:
    """``--model``, ``--dtype``, ``--device`` as ``load_model`` will take them."""
    from trviz.model import model_source, resolve_device, resolve_dtype

    resolve_dtype(args.dtype)
    resolve_device(args.device)
    if args.model is not None:
        model_source(args.model)


def check_outputs(
    args: argparse.Namespace, outputs: tuple[str, ...], inputs: tuple[str, ...] = ()
) -> None:
    """Every output option (``"--json"``...) names a file that can be written, and no two
    options (inputs included) name the same file: a command never overwrites its input."""
    seen: dict[Path, str] = {}
    for option in inputs + outputs:
        path = getattr(args, option.lstrip("-").replace("-", "_"))
        if path is None:
            continue
        if option in outputs:
            output_file(path, option)
        key = Path(os.path.realpath(path))
        if key in seen:
            raise ConfigError(f"{option} {path}: the same file as {seen[key]}")
        seen[key] = option
