"""Evaluation: episode orchestration, the asyncio runner, the results store, metrics and commands."""
