"""The TOML files the package ships (profiles, scenarios) and reading any TOML file safely.

The bundled files live in the package (``adaptive_stream/config``, read with
:mod:`importlib.resources`, so they are found in a checkout and in an installed wheel alike);
the top-level ``config/`` of a checkout is a link to that folder, the one copy users copy from.

A name (``jetkvm``, ``cpu-spikes``) is looked up in ``config/`` under the working directory
first (a user's own copies), then among the bundled files. Anything that looks like a path
is taken as one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_TOML_BYTES",
    "TomlFileError",
    "bundled",
    "find_toml",
    "read_toml",
    "search_folders",
]

#: The largest TOML file read, in bytes: a profile or a scenario is a few hundred bytes; a
#: larger file (``/dev/zero``, a log given by mistake) is refused before it fills memory.
MAX_TOML_BYTES = 1 << 20


class TomlFileError(ValueError):
    """A TOML file that cannot be used; the message says why (not the file's name: callers
    add it in their own words)."""


def bundled(subfolder: str = "") -> Traversable:
    """The bundled ``config`` folder (or a ``subfolder`` of it, e.g. ``scenarios``)."""
    folder = files("adaptive_stream") / "config"
    return folder / subfolder if subfolder else folder


def search_folders(subfolder: str = "") -> tuple[Traversable, ...]:
    """Where names are looked up: ``./config[/subfolder]``, then the bundled folder."""
    local = Path.cwd() / "config"
    return (local / subfolder if subfolder else local, bundled(subfolder))


def find_toml(name_or_path: str | Path, folders: Sequence[Traversable]) -> Traversable | None:
    """``name_or_path`` as a path if it looks like one (a ``.toml`` suffix, an existing
    file, a folder in it), else ``NAME.toml`` in the first of ``folders`` that has it, else
    ``None``."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or len(path.parts) > 1:
        return path
    for folder in folders:
        candidate = folder / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Traversable) -> dict[str, Any]:
    """The TOML document in ``path``, read whole but never more than :data:`MAX_TOML_BYTES`.

    Raises:
        FileNotFoundError: there is no such file.
        TomlFileError: it cannot be read, is too large, is not UTF-8, is not TOML, or nests
            deeper than the parser can follow.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TomlFileError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_TOML_BYTES:
        raise TomlFileError(f"larger than {MAX_TOML_BYTES // 1024} KiB: not a settings file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TomlFileError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"invalid TOML: {exc}") from None
    except RecursionError:
        raise TomlFileError("invalid TOML: nested too deeply") from None
