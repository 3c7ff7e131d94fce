"""User simulators: the deterministic scripted one and the LLM-driven one, both from the task's profile."""
from .base import UserReply, UserSimulator
from .scripted import ScriptedUser

__all__ = ["UserReply", "UserSimulator", "ScriptedUser", "make_user"]


def make_user(mode: str, client=None, prompt_path=None) -> UserSimulator:
    if mode == "llm":
        if client is None:
            raise ValueError("--user llm needs a user model (--user-model)")
        from .llm import LLMUser
        return LLMUser(client, prompt_path)
    if mode == "scripted":
        return ScriptedUser()
    raise ValueError(f"unknown user simulator {mode!r}; choose 'scripted' or 'llm'")
