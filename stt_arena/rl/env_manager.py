"""Import this module (ROLL's worker does, through the env-manager class path in the config) to register
our environments with GEM without forking ROLL. Registration is idempotent.

Class paths for ROLL configs:
* ``stt_arena.rl.env_manager.STTArenaNativeEnvManager`` -- AgentNativeStepEnvManager, env ``stt_arena``;
* ``stt_arena.rl.env_manager.STTArenaTrajEnvManager`` -- TrajEnvManager, env ``stt_arena_text``.
"""
from __future__ import annotations

ENV_IDS = {"stt_arena": "stt_arena.rl.gem_env:STTArenaEnv",
           "stt_arena_text": "stt_arena.rl.gem_env:STTArenaTextEnv"}


def register_envs() -> list[str]:
    """Register our env ids with GEM (skipping ids already there); return the ids now registered."""
    import gem
    from gem.envs.registration import ENV_REGISTRY

    for env_id, entry in ENV_IDS.items():
        if env_id not in ENV_REGISTRY:
            gem.register(env_id, entry_point=entry)
    return [i for i in ENV_IDS if i in ENV_REGISTRY]


try:
    register_envs()
except ImportError:  # gem-llm is not installed ('[rl]' extra): the class paths below still import
    pass

try:  # ROLL present (its worker): subclass its managers so the config's class path is ours
    from roll.pipeline.agentic.env_manager.agent_native_env_manager import AgentNativeStepEnvManager
    from roll.pipeline.agentic.env_manager.traj_env_manager import TrajEnvManager

    class STTArenaNativeEnvManager(AgentNativeStepEnvManager):
        """ROLL's native step manager; importing this module registered ``stt_arena`` with GEM."""

    class STTArenaTrajEnvManager(TrajEnvManager):
        """ROLL's trajectory manager for the text-only ``stt_arena_text`` env."""

except ImportError:  # no ROLL here: the names still import, and say what is missing when used
    class _NeedsRoll:
        def __init__(self, *args, **kwargs):
            raise ImportError("ROLL is not installed: see RL/README.md (install ROLL from source)")

    class STTArenaNativeEnvManager(_NeedsRoll):
        pass

    class STTArenaTrajEnvManager(_NeedsRoll):
        pass
