"""Provider tests use the suite-wide ``llm`` and ``session`` fixtures."""
