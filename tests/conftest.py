"""Test-session settings."""
import os

# The suite's own tasks are trusted: on machines without the OS sandbox layer they still run (behind the
# Python layers); tests of the refusal pass allow_untrusted=False or a clean environment explicitly.
os.environ.setdefault("STT_ARENA_ALLOW_UNSANDBOXED", "1")
