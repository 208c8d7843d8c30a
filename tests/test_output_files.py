"""output.write_files: several files written whole, all or none (tune's results)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from adaptive_stream.output import write_files


def test_write_files_writes_every_file_whole_with_the_usual_mode(tmp_path: Path) -> None:
    out = tmp_path / "results" / "deep"
    written = write_files(out, {"a.csv": "x,y\n1,2\n", "b.toml": 'policy = "oboe"\n'})
    assert [os.path.basename(p) for p in written] == ["a.csv", "b.toml"]
    assert (out / "a.csv").read_text() == "x,y\n1,2\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.toml"]  # no temporary left
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((out / "a.csv").stat().st_mode) == 0o666 & ~mask


def test_write_files_leaves_the_old_files_when_it_fails(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old\n")
    # Every file is staged before any is moved: the second cannot be (no such folder).
    with pytest.raises(OSError):
        write_files(tmp_path, {"a.csv": "new\n", "gone/b.csv": "text\n"})
    assert (tmp_path / "a.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
