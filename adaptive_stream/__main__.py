"""``python -m adaptive_stream``: the same as the ``adaptive-stream`` command."""

import sys

from adaptive_stream.cli import entry

sys.exit(entry())
