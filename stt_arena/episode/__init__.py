"""One episode engine for evaluation, RL and refinement replay: validate an agent action, execute it (or
ask the user), record the step and the trigger events, decide termination, grade the end state."""
from .engine import EpisodeEngine, agent_tools
from .env import Opened, Opening
from .errors import FatalEvalError, InfraError, JudgePending
from .loop import EpisodeContext, judge_record, run_episode

__all__ = ["EpisodeEngine", "agent_tools", "Opened", "Opening", "FatalEvalError", "InfraError", "JudgePending",
           "EpisodeContext", "judge_record", "run_episode"]
