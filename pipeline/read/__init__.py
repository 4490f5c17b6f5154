"""Reading raw/: the report folders, their files and stored documents, evidence hashes, and the per-report cache of rows."""
