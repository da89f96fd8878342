"""Performance measurements, run by scripts/bench."""
