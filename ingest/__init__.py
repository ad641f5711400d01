"""Marketplace ingest: dlt sources and pipelines that land delivery files in `raw`."""
