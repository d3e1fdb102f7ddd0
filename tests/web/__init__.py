"""Browser tests of the web chat and the embeddable widget."""
