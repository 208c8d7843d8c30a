"""Where data comes from: process metrics (psutil) and, for replays, recorded traces."""
