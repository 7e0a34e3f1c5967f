"""Fixtures that run the real bot process (errbot -c config.py) against the simulators."""
