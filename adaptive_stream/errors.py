"""Errors users see, kept free of heavy imports so the CLI can catch them cheaply."""

from __future__ import annotations

__all__ = ["SettingsError"]


class SettingsError(ValueError):
    """Invalid settings: each problem names the setting, its allowed range and what was given."""

    def __init__(self, problems: list[str], origin: str | None = None) -> None:
        self.problems = problems
        self.origin = origin
        prefix = f"{origin}: " if origin else ""
        super().__init__(prefix + "; ".join(problems))
