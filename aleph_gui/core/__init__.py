"""Headless core: asyncio only, never imports Qt (enforced by import-linter)."""
