"""Flows: nodes that say things, call integrations and models, and the runner that plays them."""
