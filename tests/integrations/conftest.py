"""Integration tests share the suite-wide ``upstream`` and ``session`` fixtures."""
