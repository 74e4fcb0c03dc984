"""The Senim domain: what the ledger means, with no IO of its own.

Owns: the canonical encoding, identities and signatures, transactions and
their typed payloads, blocks, the ledger rules (pure functions over state),
the chain over a key-value store it is given, state records, credential
documents, their verification, offline proofs and genesis.

May import `storage` only. Must not import asyncio, sockets, plyvel, the
wall clock, or the packages consensus, p2p, node or cli: times, keys, stores
and certificate checks come in from the caller, so every rule can be run by
the deterministic simulator.
"""
