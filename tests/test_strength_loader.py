"""Tests written from the survivors of `make mutation` (docs/mutation.md): what the loader, validation
and the per-report checks decide."""
