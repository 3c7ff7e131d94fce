"""Synthesis pipeline (Stage 1: environment curation from public seed queries)."""
