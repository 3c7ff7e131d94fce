"""STT-Arena as an Inspect AI task (``pip install 'stt-arena[inspect]'``; ``inspect eval stt_arena/stt_arena``).

``task``: the ``@task``, its solver (our episode engine with the Inspect model as the agent) and scorer
(checklist + judge, pass per level and type); ``agent``: the Inspect model behind our ``Agent`` interface;
``convert`` / ``commands``: Inspect logs of this task as a results directory (``stt-arena inspect-import``).
This module, ``convert`` and ``commands`` import nothing from ``inspect_ai`` at import time (the CLI loads
without the extra); ``task`` and ``agent`` need it.
"""
