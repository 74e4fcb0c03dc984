"""Persistence for Senim: a small key-value interface, the LevelDB block store,
the Merkle-indexed credential state and the proofs it gives.

Owns: bytes on disk and the hashing of tree nodes. Must not import
`consensus`, `node` or `cli`; it knows nothing of transactions or consensus,
only keys, values, blocks as opaque bytes and roots.
"""
