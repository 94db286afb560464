"""Runtimes that execute plugin code: WASM (Extism), Node.js processes, shell command hooks."""
