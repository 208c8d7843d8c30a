"""Rewrite a generated block of a Markdown file: the lines between ``<!-- NAME:begin -->``
and ``<!-- NAME:end -->`` (so figures in docs are regenerated from JSON, never pasted)."""

from __future__ import annotations

from pathlib import Path

from adaptive_stream.docblocks import update_between_markers


def rewrite_block(path: Path, name: str, content: str) -> None:
    """Replace block ``name`` of ``path`` with ``content``; exit if the file has no such
    block (exactly one begin and one end line, in order)."""
    try:
        update_between_markers(path, name, content, prefix="")
    except ValueError as exc:
        raise SystemExit(f"{path}: {exc}") from None
