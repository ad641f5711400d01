"""Sample data for demos and end-to-end tests (see samples.marketplace_files)."""
