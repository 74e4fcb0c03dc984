"""The Senim daemon: what runs the ledger (`ledger`) as one organisation's node.

Owns: the engine that drives consensus and block sync and is the one writer of the
chain, its thread, the mempool and admission, the P2P wiring, the HTTP API (public,
chain, VC-API and the verification portal), state sync, metrics, and the asyncio
daemon that wires them together in one place (`node/daemon.py`).

May import `ledger`, `consensus`, `p2p` and `storage`; must not import `cli` or
`registrar`.
"""
