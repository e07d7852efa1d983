"""Data preparation: download or read official archives, verify checksums, write caches.

Each dataset has its own module, run as ``python -m data_prep.<name>``.
"""
