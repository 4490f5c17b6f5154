"""Validating what was read: the pandera models, the column descriptions, the loader's checks and the per-report checks."""
