"""HTTP integrations: the ``kind: integration`` model, its loader and templates, and the
executor that streams an upstream response through the stream reader.
"""
