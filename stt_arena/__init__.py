

try:  # the installed distribution's version (pyproject.toml), else the source tree's
    from importlib.metadata import version as _version

    __version__ = _version("stt-arena")
except Exception:  # noqa: BLE001 - not installed (a bare checkout on sys.path)
    __version__ = "0.1.0"
