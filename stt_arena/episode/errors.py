"""Why an episode could not be completed (infrastructure) or a whole run must stop (fatal)."""
from __future__ import annotations

import traceback

from ..llm.client import LLMError

FATAL_STATUS = (401, 403, 404)


class InfraError(RuntimeError):
    """The episode could not be completed for reasons outside the agent (endpoint down or too slow,
    malformed replies, sandbox death); retried, then logged to errors.jsonl and re-run on resume.
    ``role``: agent | user | judge | sandbox | harness; ``cause``: e.g. connection, timeout, malformed."""

    def __init__(self, message: str, role: str = "harness", cause: str = "error"):
        super().__init__(message)
        self.role, self.cause = role, cause


class JudgePending(InfraError):
    """The agent's episode finished but its judge failed: ``record`` is the episode, ungraded by the
    judge; only the judge is re-run (never the agent)."""

    def __init__(self, message: str, record: dict, cause: str):
        super().__init__(message, "judge", cause)
        self.record = record


class FatalEvalError(RuntimeError):
    """Retrying cannot help (bad API key, unknown model, endpoint down): the whole run stops."""


def classify_llm_error(e: LLMError, who: str) -> Exception:
    role = {"user simulator": "user"}.get(who, who)
    if e.status_code in FATAL_STATUS or e.breaker:
        return FatalEvalError(f"{who} model: {e}")
    return InfraError(f"{who} model: {e}", role, e.cause)


def format_exc(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()
