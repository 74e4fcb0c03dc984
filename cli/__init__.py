"""The `senim` command: operators, registrars and verifiers.

Owns argument parsing and what a person reads. Imports `node`; nothing imports it.
"""
