"""asyncio helpers."""
from __future__ import annotations

import asyncio
import sys
from typing import Awaitable, TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], seconds: float) -> T:
    """``await aw`` with a time limit; raises ``asyncio.TimeoutError`` (== ``TimeoutError`` on 3.11+).

    On Python >= 3.11 this runs ``aw`` in the current task (``asyncio.timeout``): no extra task and
    no extra event-loop passes per call, unlike ``asyncio.wait_for`` there, which matters on hot paths
    of a busy loop. On 3.10 it falls back to ``wait_for``.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await aw
    return await asyncio.wait_for(aw, seconds)
