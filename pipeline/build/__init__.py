"""Building the warehouse tables in staging: the SQL, the table plan, the cross-report checks and the changes between reports."""
