"""Persistence for Senim: a small key-value interface (LevelDB and in-memory),
the Merkle-indexed state tree, RFC 6962 batch trees and the proofs they give.
Blocks are stored by `ledger.chain` through the key-value interface.

Owns: bytes on disk and the hashing of tree nodes. Must not import
`consensus`, `ledger`, `node` or `cli`; it knows nothing of blocks, transactions or
consensus, only keys, values, hashes and roots.
"""
