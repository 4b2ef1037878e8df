"""Rendering and writing results: stdout or an atomically replaced file, progress on stderr."""
