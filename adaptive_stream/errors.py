"""Errors users see, and how the command reports them; kept free of heavy imports so the
CLI can catch them cheaply."""

from __future__ import annotations

import sys

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "SettingsError", "fail"]

#: The command's exit codes: success, bad input (a setting, a flag, a file, a value), and
#: stopped by Ctrl-C (128 + SIGINT).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str) -> int:
    """Report bad input as the command does: one line on stderr (nothing if stderr is gone:
    there is nobody to tell); returns :data:`EXIT_USAGE`."""
    try:
        if sys.stderr is not None:
            print(f"adaptive-stream: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return EXIT_USAGE


class SettingsError(ValueError):
    """Invalid settings: each problem names the setting, its allowed range and what was given."""

    def __init__(self, problems: list[str], origin: str | None = None) -> None:
        self.problems = problems
        self.origin = origin
        prefix = f"{origin}: " if origin else ""
        super().__init__(prefix + "; ".join(problems))
