"""xinstruct: cross-lingual instruction tuning, from data mixture to transfer report."""

__version__ = "0.1.0"
