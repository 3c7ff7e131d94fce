"""Iterative trajectory refinement (stale-state execution, misdiagnosed triggers, missing verification)."""
