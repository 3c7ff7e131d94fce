"""The LLM synthesis pipeline: seed queries -> curated environments (stage 1) -> draft dynamic tasks
(stage 2) -> assessed tasks in the benchmark format (stage 3), plus the human-review round trip.

Modules: ``seeds`` (loaders), ``llm`` (prompt files, cache, structured calls with repair), ``schemas``
(pydantic models of every LLM answer and stage record), ``stage1``/``stage2``/``stage3``, ``review``,
``commands`` (the ``stt-arena synth`` CLI).
"""
