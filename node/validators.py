"""The validator set as consensus sees it: ids, Ed25519 signer and verifier.

Validator ids are member ids (20 bytes). The set is fixed by genesis for now;
a later governance change swaps this object at a block boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus import CommitCertificate, ValidatorId, decode_certificate, verify_certificate
from consensus.errors import MalformedMessage
from ledger.genesis import Genesis
from ledger.identity import verify_signature


@dataclass(frozen=True)
class ValidatorSet:
    chain_id: bytes
    ids: tuple[ValidatorId, ...]
    public_keys: dict[bytes, bytes]

    @classmethod
    def from_genesis(cls, genesis: Genesis) -> ValidatorSet:
        validators = genesis.validators
        return cls(genesis.chain_id.encode(),
                   tuple(ValidatorId(v.member_id) for v in validators),
                   {v.member_id: v.public_key for v in validators})

    def verify(self, validator: ValidatorId, message: bytes, signature: bytes) -> bool:
        public_key = self.public_keys.get(validator)
        return public_key is not None and verify_signature(public_key, message, signature)

    def certificate_for(self, data: bytes, height: int, block_hash: bytes
                        ) -> CommitCertificate | None:
        """Decode and check a stored or fetched certificate for one block; None if bad."""
        try:
            cert = decode_certificate(data)
        except MalformedMessage:
            return None
        if cert.height != height or cert.digest != block_hash:
            return None
        if not verify_certificate(cert, self.chain_id, self.ids, self.verify):
            return None
        return cert

    def certifies(self, data: bytes, height: int, block_hash: bytes) -> bool:
        """`ledger.offline.CertificateCheck` for this set."""
        return self.certificate_for(data, height, block_hash) is not None

    def commit_times(self, data: bytes, height: int, block_hash: bytes) -> tuple[int, ...] | None:
        """`ledger.bft_time.CommitTimes` for this set: a block's last commit's vote times."""
        cert = self.certificate_for(data, height, block_hash)
        return None if cert is None else cert.vote_times
