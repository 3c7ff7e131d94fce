"""Test helpers: a scripted, real-HTTP fake of the OpenAI chat-completions API."""
from stt_arena.testing.fake_openai import FakeOpenAIServer

__all__ = ["FakeOpenAIServer"]
