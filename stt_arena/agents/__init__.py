"""Agents: the turn interface (base), built-in reference policies, and model-backed agents."""
