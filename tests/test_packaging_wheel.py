"""The built wheel works installed: in a fresh virtual environment outside the checkout,
from another directory, the README's Python example, ``simulate``, ``compare`` and a short
``run`` (slow: builds the wheel and installs its dependencies from the package index)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_STREAM_")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stderr[-3000:]}"
    return result


def _readme_example() -> str:
    """The README's Python example of the manager (the one calling ``resize_queues``; the
    others need extras this install leaves out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    found = [block for block in blocks if "resize_queues" in block]
    assert found, "README.md has no Python example of the manager"
    return str(found[0])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel (built from this checkout) installed."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], base
    )
    [wheel] = dist.glob("adaptive_stream-*.whl")
    venv = base / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, timeout=600, check=False
    )
    if made.returncode != 0:  # no ensurepip here (as the Makefile's fallback): virtualenv
        _run([sys.executable, "-m", "pip", "install", "-q", "virtualenv"], base)
        _run([sys.executable, "-m", "virtualenv", "-q", str(venv)], base)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], base)
    return venv / "bin"


def test_the_wheel_carries_the_bundled_files(installed: Path) -> None:
    out = _run(
        [
            str(installed / "python"),
            "-c",
            "import adaptive_stream, pathlib; p = pathlib.Path(adaptive_stream.__file__).parent; "
            "print(p); print(sorted(x.name for x in (p / 'config').rglob('*.toml')))",
        ],
        installed,
    ).stdout
    assert str(ROOT) not in out.splitlines()[0]  # the installed copy, not the checkout
    assert "jetkvm.toml" in out and "cpu-spikes.toml" in out


def test_the_readme_example_runs_installed(installed: Path, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(
        "def resize_queues(input_size: int, output_size: int) -> None:\n"
        "    print('sizes', input_size, output_size)\n\n" + _readme_example(),
        encoding="utf-8",
    )
    out = _run([str(installed / "python"), str(script)], tmp_path).stdout
    assert "sizes 6 6" in out
    assert "'input_buffer_size'" in out or "input_buffer_size" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["simulate", "--scenario", "cpu-spikes", "--no-timeline"], "Simulating cpu-spikes"),
        (["compare", "--scenario", "steady", "--policies", "jetkvm,feedback"], "Comparing"),
        (["run", "--profile", "feedback", "--duration", "1", "--quiet"], "Summary: ran"),
        (["settings", "--profile", "desktop"], "max_buffer_size"),
    ],
    ids=["simulate", "compare", "run", "settings"],
)
def test_the_commands_run_installed(
    installed: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    out = _run([str(installed / "adaptive-stream"), *args], tmp_path).stdout
    assert expected in out
