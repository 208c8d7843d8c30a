"""Rewrite a generated block of a Markdown file: the lines between ``<!-- NAME:begin -->``
and ``<!-- NAME:end -->`` (so figures in docs are regenerated from JSON, never pasted)."""

from __future__ import annotations

import re
from pathlib import Path


def rewrite_block(path: Path, name: str, content: str) -> None:
    """Replace block ``name`` of ``path`` with ``content``; exit if the file has none."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = path.read_text()
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {begin} ... {end} block")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text))
