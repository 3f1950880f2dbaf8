"""Command-line entry points: `make calendar`, `make ingest`, `make templates`, `make plans`, `make demo`.
"""
