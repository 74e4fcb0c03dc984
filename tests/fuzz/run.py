"""Run one decoder under atheris (coverage-guided, libFuzzer) for a bounded time.

    python -m tests.fuzz.run TARGET --seconds 3 --corpus DIR --artifacts DIR [--seed N]

The seed corpus (valid encodings from tests/fuzz/samples.py) and the kept
regression inputs are written into the corpus directory first, so mutations start
from inputs that reach deep code. The project's packages are instrumented for
coverage; libraries are not. Exit status 0: no crash in the time given. A crash
leaves its input in the artifacts directory as crash-<sha1> (libFuzzer's bytes) and
input-<sha1> (what the decoder saw: keep this one under regressions/<target>/).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from pathlib import Path

import atheris

# The modules whose code each decoder runs, imported under atheris's hook. The hook
# instruments whole top-level packages (`ledger`, `node`, ...): every module of theirs
# these import comes in instrumented too. Third-party code (msgpack, cryptography,
# aiohttp) is left alone, which keeps start-up short.
INSTRUMENTED: dict[str, list[str]] = {
    "transaction": ["ledger.transactions", "ledger.payloads", "ledger.codec"],
    "block": ["ledger.blocks", "ledger.transactions", "ledger.payloads", "ledger.codec"],
    "certificate": ["consensus.certificate", "consensus.codec", "node.validators"],
    "consensus_message": ["consensus.messages", "consensus.certificate", "consensus.codec"],
    "safety_state": ["consensus.safety", "consensus.messages", "consensus.codec"],
    "handshake": ["p2p.handshake"],
    "frame": ["p2p.frames"],
    "sync": ["node.sync", "ledger.codec", "ledger.blocks"],
    "credential": ["ledger.credentials", "ledger.credential_documents", "ledger.verification"],
    "offline_bundle": ["ledger.offline", "storage.state_tree", "ledger.blocks"],
    "vc": ["ledger.vc"],
    "genesis": ["ledger.genesis"],
    "config": ["node.config"],
}
MAX_INPUT_BYTES = 64 * 1024  # large enough for a block of a few transactions or a VC
PER_INPUT_TIMEOUT_S = 20
RSS_LIMIT_MB = 1024
REGRESSIONS = Path(__file__).parent / "regressions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--seconds", type=int, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.target not in INSTRUMENTED:
        parser.error(f"unknown target {args.target!r}; known: {', '.join(INSTRUMENTED)}")
    with atheris.instrument_imports(include=INSTRUMENTED[args.target]):
        for module in INSTRUMENTED[args.target]:
            importlib.import_module(module)
    from tests.fuzz.targets import TARGETS
    target = TARGETS[args.target]
    args.corpus.mkdir(parents=True, exist_ok=True)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    kept = sorted((REGRESSIONS / args.target).glob("*"))
    for data in [*target.seeds(), *(path.read_bytes() for path in kept)]:
        (args.corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)

    def one_input(data: bytes) -> None:
        try:
            target.check(data)
        except BaseException:
            # JSON targets read edit scripts against documents with random salts: keep
            # the input as the exact text the decoder saw, so it replays anywhere.
            kept_input = target.materialize(data)
            name = f"input-{hashlib.sha1(kept_input).hexdigest()}"
            (args.artifacts / name).write_bytes(kept_input)
            raise

    atheris.Setup([sys.argv[0], f"-max_total_time={args.seconds}", f"-seed={args.seed}",
                   f"-max_len={MAX_INPUT_BYTES}", f"-timeout={PER_INPUT_TIMEOUT_S}",
                   f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={args.artifacts}/",
                   "-print_final_stats=1", str(args.corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
