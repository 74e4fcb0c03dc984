"""Machine ceilings and in-process figures: Ed25519 rates, state proofs at scale."""

from __future__ import annotations

import os
import random
import tempfile
import time

import nacl.bindings
import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.batch_tree import audit_path, tree_root, verify_inclusion
from storage.kv import LevelDBStore
from storage.state_tree import StateTree, encode_state_proof, verify_state_proof

# Bytes a ceiling's message has, as since the first bench (an issuance signs about 130).
CEILING_MESSAGE_BYTES = 200


def ed25519_rates(count: int = 4000, rounds: int = 3) -> dict[str, float]:
    """Best-of-`rounds` single-core verification rates of both libraries on this machine,
    each over `count` signatures of different messages, as a node checks them (every
    transaction signs its own). libsodium checks one signature again and again about 3.5%
    faster than as many different ones (BENCHMARKS.md, session 50), and that was the
    ceiling until then: it is given too, as `pynacl_one_signature_per_s`."""
    key = nacl.signing.SigningKey.generate()
    public = bytes(key.verify_key)
    private = Ed25519PrivateKey.generate()
    verifier = private.public_key()
    messages = [os.urandom(CEILING_MESSAGE_BYTES) for _ in range(count)]
    signed = [key.sign(message).signature + message for message in messages]
    signatures = [(private.sign(message), message) for message in messages]
    best_nacl = best_nacl_one = best_crypto = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for each in signed:
            nacl.bindings.crypto_sign_open(each, public)
        best_nacl = max(best_nacl, count / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(count):
            nacl.bindings.crypto_sign_open(signed[0], public)
        best_nacl_one = max(best_nacl_one, count / (time.perf_counter() - started))
        started = time.perf_counter()
        for signature, message in signatures:
            verifier.verify(signature, message)
        best_crypto = max(best_crypto, count / (time.perf_counter() - started))
    return {"pynacl_per_s": best_nacl, "pynacl_one_signature_per_s": best_nacl_one,
            "cryptography_per_s": best_crypto}


def state_proofs(entries: int, samples: int = 2000, chunk: int = 50_000) -> dict[str, float]:
    """Fill a LevelDB-backed state with `entries` batch records; time and size proofs."""
    rng = random.Random(entries)
    with tempfile.TemporaryDirectory(prefix="senim-bench-state-") as folder:
        kv = LevelDBStore(folder)
        tree = StateTree(kv, b"s/")
        fill_started = time.perf_counter()
        for offset in range(0, entries, chunk):
            overlay = tree.overlay()
            for i in range(offset, min(entries, offset + chunk)):
                overlay.set(b"b:" + i.to_bytes(32, "big"), b"batch-record-%d" % i)
            writes = tree.commit(overlay)
            kv.write(writes, sync=False)
            tree.committed(overlay)
        fill_s = time.perf_counter() - fill_started
        keys = [b"b:" + rng.randrange(entries).to_bytes(32, "big") for _ in range(samples)]
        tree = StateTree(kv, b"s/")  # reopen: caches start cold, as after a restart
        started = time.perf_counter()
        proofs = [tree.prove(key) for key in keys]
        cold_us = (time.perf_counter() - started) / samples * 1e6
        warm = []
        for _ in range(3):  # a serving node is warm; best of 3 damps the shared machine's noise
            started = time.perf_counter()
            for key in keys:
                tree.prove(key)
            warm.append((time.perf_counter() - started) / samples * 1e6)
        prove_us = min(warm)
        values = [tree.get(key) for key in keys]
        started = time.perf_counter()
        for key, value, proof in zip(keys, values, proofs, strict=True):
            assert verify_state_proof(tree.root, key, value, proof)
        verify_us = (time.perf_counter() - started) / samples * 1e6
        sizes = [len(encode_state_proof(p)) for p in proofs]
        absent = tree.prove(b"r:" + os.urandom(32))
        kv.close()
    return {"entries": entries, "fill_s": fill_s, "fill_per_s": entries / fill_s,
            "prove_us": prove_us, "prove_cold_us": cold_us, "verify_us": verify_us,
            "proof_bytes_avg": sum(sizes) / len(sizes),
            "absence_proof_bytes": len(encode_state_proof(absent))}


def batch_audit_paths(size: int = 10_000) -> dict[str, float]:
    leaves = [os.urandom(32) for _ in range(size)]
    root = tree_root(leaves)
    path = audit_path(leaves, size // 3)
    started = time.perf_counter()
    for _ in range(1000):
        verify_inclusion(leaves[size // 3], size // 3, size, path, root)
    return {"batch_size": size, "path_hashes": len(path), "path_bytes": 32 * len(path),
            "verify_us": (time.perf_counter() - started) / 1000 * 1e6}
