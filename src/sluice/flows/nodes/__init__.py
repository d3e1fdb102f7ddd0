"""One module per node type; each exposes ``run(node, state)`` yielding events."""
