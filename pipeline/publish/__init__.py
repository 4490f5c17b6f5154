"""Publishing and exporting: the staging and published DuckDB files, the release folder, the report page, charts and exports."""
