"""Shared foundations every step uses: problems and errors, text matching, the vocabulary, DataFrame
registration, project settings."""
