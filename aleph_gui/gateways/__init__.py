"""Where agents connect to Aleph: Claude Code's hook bridge and its installer (no Qt, light imports)."""
