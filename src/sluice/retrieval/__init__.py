"""Retrieval: documents split into passages, indexed, and searched to give a flow its sources."""
