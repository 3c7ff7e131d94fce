"""STT-Arena as an Inspect AI task (``pip install 'stt-arena[inspect]'``; ``inspect eval stt_arena/stt_arena``).

``task``: the ``@task``, its solver (our episode engine with the Inspect model as the agent) and scorer
(checklist + judge, pass per level and type); ``agent``: the Inspect model behind our ``Agent`` interface;
``convert``: Inspect logs of this task as trajectory records (read by ``stt-arena report``/``analyze``).
This module imports nothing from ``inspect_ai``: ``convert`` can be imported without the extra.
"""
