"""ember's default backend: every kernel on NumPy, registered as the ``cpu`` device."""

__version__ = "0.1.0"
