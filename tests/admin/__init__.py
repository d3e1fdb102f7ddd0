"""Tests of the admin pages and their API."""
