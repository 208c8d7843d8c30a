"""Every notebook runs top to bottom on a fresh kernel, and matches its cell sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_executes(path: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    figures = sum(
        1
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
    assert figures >= 2


def test_notebooks_are_built_from_their_sources() -> None:
    """notebooks/build_notebooks.py holds the cells: the .ipynb files must match it."""
    nbformat = pytest.importorskip("nbformat")
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_notebooks"] = module
    spec.loader.exec_module(module)
    for name, cells in (
        ("explore_decisions", module.EXPLORE),
        ("compare_policies", module.COMPARE),
        ("recorded_links", module.RECORDED),
        ("tuning", module.TUNING),
    ):
        saved = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        sources = [cell.source for cell in saved.cells]
        assert sources == [cell.source for cell in cells], name
