"""Test-session settings."""
import os

# The suite's own tasks are trusted: on machines without the OS sandbox layer they still run (behind the
# Python layers); tests of the refusal pass allow_untrusted=False or a clean environment explicitly.
os.environ.setdefault("STT_ARENA_ALLOW_UNSANDBOXED", "1")

# Vetted built-in code is cached per machine (sandbox/codecache.py): the suite keeps its own, fresh each session.
if "STT_ARENA_CODE_CACHE" not in os.environ:
    import tempfile

    os.environ["STT_ARENA_CODE_CACHE"] = tempfile.mkdtemp(prefix="stt-arena-vetted-")
