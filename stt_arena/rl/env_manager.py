"""Import this module (ROLL's env worker does, through the ``env_manager_cls`` class path in the config)
to register our environments with GEM without forking ROLL. Registration is idempotent and thread-safe.

Class paths for ROLL configs (``custom_envs.<tag>.env_manager_cls``):
* ``stt_arena.rl.env_manager.STTArenaNativeEnvManager`` -- ROLL's ``AgentNativeStepEnvManager``, with
  ``env_type: stt_arena`` (chat messages + tool schemas);
* ``stt_arena.rl.env_manager.STTArenaTrajEnvManager`` -- ROLL's ``TrajEnvManager``, with
  ``env_type: stt_arena_text`` (text observations).

Where ROLL is installed these are plain subclasses of ROLL's managers; without ROLL the names still import
(so configs can be checked anywhere) and raise a clear error when instantiated.
"""
from __future__ import annotations

import importlib.util
import threading

ENV_IDS = {"stt_arena": "stt_arena.rl.gem_env:STTArenaEnv",
           "stt_arena_text": "stt_arena.rl.gem_env:STTArenaTextEnv",
           "stt_arena_pool": "stt_arena.rl.env_pool:STTArenaPoolEnv"}  # environments in Ray pool actors
_LOCK = threading.Lock()


def register_envs() -> list[str]:
    """Register our env ids with GEM (skipping ids already there); return the ids now registered."""
    import gem
    from gem.envs.registration import ENV_REGISTRY

    with _LOCK:
        for env_id, entry in ENV_IDS.items():
            if env_id not in ENV_REGISTRY:
                try:
                    gem.register(env_id, entry_point=entry)
                except ValueError:  # registered meanwhile by another importer
                    pass
    return [i for i in ENV_IDS if i in ENV_REGISTRY]


try:
    register_envs()
except ImportError:  # gem-llm is not installed ('[rl]' extra): the class paths below still import
    pass

if importlib.util.find_spec("roll") is not None:  # ROLL's worker: real subclasses (import errors surface)
    from roll.pipeline.agentic.env_manager.agent_native_env_manager import AgentNativeStepEnvManager
    from roll.pipeline.agentic.env_manager.traj_env_manager import TrajEnvManager

    class STTArenaNativeEnvManager(AgentNativeStepEnvManager):
        """ROLL's native step manager; importing this module registered ``stt_arena`` with GEM."""

    class STTArenaTrajEnvManager(TrajEnvManager):
        """ROLL's trajectory manager for the text-only ``stt_arena_text`` env."""

else:
    class _NeedsRoll:
        def __init__(self, *args, **kwargs):
            raise ImportError("ROLL is not installed: see RL/README.md (install ROLL from source)")

    class STTArenaNativeEnvManager(_NeedsRoll):  # type: ignore[no-redef]  # the ROLL-less stand-in
        pass

    class STTArenaTrajEnvManager(_NeedsRoll):  # type: ignore[no-redef]
        pass
