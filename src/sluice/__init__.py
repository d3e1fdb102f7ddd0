"""Sluice: a self-hostable streaming server for conversational AI."""

__version__ = "0.1.0"
