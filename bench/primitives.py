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

# Bytes a ceiling's message has, as in every run before session 50 (an issuance signs
# about 137: one SHA-512 block less, about 0.5% of a check).
CEILING_MESSAGE_BYTES = 200


def ed25519_rates(count: int = 4000, rounds: int = 3) -> dict[str, float]:
    """Best-of-`rounds` single-core verification rates of both libraries on this machine,
    each over `count` signatures of different messages, as a node checks them (every
    transaction signs its own); before session 50 both timed one signature checked again
    and again. libsodium runs 3.2-4.5% faster that way (BENCHMARKS.md, session 50), and
    that was the ceiling until then: it is timed too, as `pynacl_one_signature_per_s`.
    The two libsodium loops swap places each round, so that neither always runs first."""
    key = nacl.signing.SigningKey.generate()
    public = bytes(key.verify_key)
    private = Ed25519PrivateKey.generate()
    verifier = private.public_key()
    messages = [os.urandom(CEILING_MESSAGE_BYTES) for _ in range(count)]
    nacl_signed = [key.sign(message).signature + message for message in messages]
    openssl_signed = [(private.sign(message), message) for message in messages]
    repeated = nacl_signed[0]

    def different() -> float:
        started = time.perf_counter()
        for signed in nacl_signed:
            nacl.bindings.crypto_sign_open(signed, public)
        return count / (time.perf_counter() - started)

    def one_again() -> float:
        started = time.perf_counter()
        for _ in range(count):
            nacl.bindings.crypto_sign_open(repeated, public)
        return count / (time.perf_counter() - started)

    best_nacl = best_nacl_one = best_openssl = 0.0
    for round_number in range(rounds):
        if round_number % 2:
            best_nacl_one = max(best_nacl_one, one_again())
            best_nacl = max(best_nacl, different())
        else:
            best_nacl = max(best_nacl, different())
            best_nacl_one = max(best_nacl_one, one_again())
        started = time.perf_counter()
        for signature, message in openssl_signed:
            verifier.verify(signature, message)
        best_openssl = max(best_openssl, count / (time.perf_counter() - started))
    return {"pynacl_per_s": best_nacl, "pynacl_one_signature_per_s": best_nacl_one,
            "cryptography_per_s": best_openssl}


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
