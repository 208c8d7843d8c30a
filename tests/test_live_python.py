"""``run`` from Python, without argparse: ``run_live(settings, LiveOptions(...))``."""

from __future__ import annotations

import io

import pytest

from adaptive_stream import load_settings
from adaptive_stream.live import LiveOptions, run_live


def test_run_live_runs_and_summarises_without_the_command_line() -> None:
    out = io.StringIO()
    code = run_live(
        load_settings(adaptation_interval="50ms"),
        LiveOptions(system=True, duration=0.3, quiet=True),
        out=out,
    )
    assert code == 0
    text = out.getvalue()
    assert text.startswith("adaptive-stream run: watching the whole system; policy jetkvm")
    assert "Summary: ran 0.3 s" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"system": True, "pids": (1,)}, "cannot go with --pid"),
        ({"duration": 0.0}, "--duration: must be above 0"),
        ({"duration": float("inf")}, "--duration: must be above 0"),
        ({"metrics_addr": "::1"}, "--metrics-addr needs --metrics-port"),
        ({"metrics_port": 70000}, "--metrics-port: must be within 0..65535"),
        ({"metrics_names": "grafana"}, "--metrics-names: must be adaptive_stream or jetkvm"),
    ],
)
def test_contradictory_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LiveOptions(**options)  # type: ignore[arg-type]
