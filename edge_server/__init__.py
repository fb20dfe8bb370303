"""The classroom box: an offline-first edge server for rural schools."""

__version__ = "0.1.0"
