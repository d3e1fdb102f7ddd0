"""The HTTP API: the FastAPI app, one router per protocol, and the wire formats it writes."""
