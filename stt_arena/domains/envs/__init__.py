"""Environment classes of the built-in domains (read as source text, never imported by the harness)."""
