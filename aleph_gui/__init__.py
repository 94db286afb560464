"""Aleph Extension Manager: discover, review, run and watch the plugins of the Aleph assistant."""

__version__ = "0.1.0"
