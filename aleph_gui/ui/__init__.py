"""The PySide6 desktop window. Talks to the core only through `ExtensionManager` and its events."""
