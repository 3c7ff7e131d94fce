"""RL hand-off: a GEM environment (``stt_arena.rl.gem_env``) for ROLL's agentic pipeline.

``STTArenaCore`` holds the logic and needs no extra; the GEM classes need ``pip install '.[rl]'``.
"""
