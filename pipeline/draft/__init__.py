"""Drafting a new report folder from a document, for a person to check before it goes into raw/."""
