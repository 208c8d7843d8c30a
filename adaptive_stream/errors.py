"""Errors users see, and how the command reports them; kept free of heavy imports so the
CLI can catch them cheaply."""

from __future__ import annotations

import sys

__all__ = ["EXIT_OK", "EXIT_USAGE", "SettingsError", "fail"]

#: The command's exit codes: success, and bad input (a setting, a flag, a file, a value).
EXIT_OK = 0
EXIT_USAGE = 2


def fail(message: str) -> int:
    """Report bad input as the command does: one line on stderr; returns :data:`EXIT_USAGE`."""
    print(f"adaptive-stream: {message}", file=sys.stderr)
    return EXIT_USAGE


class SettingsError(ValueError):
    """Invalid settings: each problem names the setting, its allowed range and what was given."""

    def __init__(self, problems: list[str], origin: str | None = None) -> None:
        self.problems = problems
        self.origin = origin
        prefix = f"{origin}: " if origin else ""
        super().__init__(prefix + "; ".join(problems))
