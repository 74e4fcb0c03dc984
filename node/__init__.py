"""The Senim daemon and its rules.

Owns: the canonical encoding, identities and signatures, transactions, blocks,
the ledger rules (pure functions over state), credential documents and their
verification, the mempool, the chain store wiring, the HTTP API and the asyncio
daemon that drives consensus and the P2P layer.

May import `consensus`, `p2p` and `storage`; must not import `cli`.
"""
