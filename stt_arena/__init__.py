"""stt-arena: benchmark and train LLM agents on spatio-temporal tool use."""


def __getattr__(name: str):
    # ``__version__`` on first use: importlib.metadata costs ~50 ms and MBs that every sandbox fork server
    # and worker would otherwise carry (they import ``stt_arena.sandbox`` only).
    if name == "__version__":
        try:  # the installed distribution's version (pyproject.toml), else the source tree's
            from importlib.metadata import version as _version

            value = _version("stt-arena")
        except Exception:  # noqa: BLE001 - not installed (a bare checkout on sys.path)
            value = "0.1.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'stt_arena' has no attribute {name!r}")
