"""The shared plumbing: one atomic writer for every file trviz writes."""

from __future__ import annotations

import stat

import pytest

from trviz.plumbing import dtype_name, write_atomic


def test_write_atomic_text_bytes_and_callable(tmp_path):
    a = write_atomic(tmp_path / "sub" / "a.txt", "héllo")
    b = write_atomic(tmp_path / "b.bin", b"\x00\x01")
    c = write_atomic(tmp_path / "c.bin", lambda f: f.write(b"xyz"))
    assert a.read_text(encoding="utf-8") == "héllo"
    assert b.read_bytes() == b"\x00\x01" and c.read_bytes() == b"xyz"
    assert {stat.S_IMODE(p.stat().st_mode) for p in (a, b, c)} == {0o644}
    assert stat.S_IMODE(write_atomic(tmp_path / "d", "x", mode=0o600).stat().st_mode) == 0o600


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = write_atomic(tmp_path / "out.html", "old page")

    def half_then_fail(f):
        f.write(b"<html>half a pa")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomic(path, half_then_fail)
    assert path.read_text() == "old page"
    assert [p.name for p in tmp_path.iterdir()] == ["out.html"]


def test_dtype_name():
    import torch

    assert dtype_name(torch.bfloat16) == "bfloat16" and dtype_name("float32") == "float32"
