"""verify_certificate: quorum of distinct members, every signature valid, never raises."""

import pytest

from consensus import (
    CommitCertificate,
    CommitSignature,
    Digest,
    Height,
    MalformedMessage,
    ValidatorId,
    View,
    commit_signing_bytes,
    decode_certificate,
    encode_certificate,
    verify_certificate,
)
from consensus.certificate import (
    _checked_fields,
    _well_formed,
    certificate_to_fields,
    commit_signing_prefix,
)
from consensus.codec import MAX_UINT, pack
from consensus.config import MAX_SIGNATURE_BYTES, MAX_VALIDATOR_ID_BYTES, MAX_VALIDATORS
from tests.sim.keys import make_signer, validator_ids, verify

CHAIN = b"chain"
VALIDATORS = validator_ids(4)
DIGEST = Digest(b"\x07" * 32)


def certificate(signers: tuple[ValidatorId, ...], chain: bytes = CHAIN) -> CommitCertificate:
    votes = []
    for index, signer in enumerate(sorted(signers)):
        time_ms = 1_700_000_000_000 + index
        data = commit_signing_bytes(chain, Height(3), View(1), DIGEST, time_ms)
        votes.append(CommitSignature(signer, time_ms, make_signer(signer)(data)))
    return CommitCertificate(Height(3), View(1), DIGEST, tuple(votes))


def test_quorum_of_valid_signatures_verifies() -> None:
    assert verify_certificate(certificate(VALIDATORS[:3]), CHAIN, VALIDATORS, verify)
    assert verify_certificate(certificate(VALIDATORS), CHAIN, VALIDATORS, verify)


def test_too_few_signers_fail() -> None:
    assert not verify_certificate(certificate(VALIDATORS[:2]), CHAIN, VALIDATORS, verify)


def test_repeated_signer_does_not_count_twice() -> None:
    good = certificate(VALIDATORS[:2])
    doubled = CommitCertificate(good.height, good.view, good.digest,
                                (*good.signatures, good.signatures[0]))
    assert not verify_certificate(doubled, CHAIN, VALIDATORS, verify)


def test_outsider_or_other_chain_or_forged_signature_fails() -> None:
    outsider = validator_ids(5)[4]
    assert not verify_certificate(certificate((*VALIDATORS[:2], outsider)), CHAIN, VALIDATORS,
                                  verify)
    assert not verify_certificate(certificate(VALIDATORS[:3], b"other"), CHAIN, VALIDATORS,
                                  verify)
    good = certificate(VALIDATORS[:3])
    forged = CommitCertificate(good.height, good.view, good.digest,
                               (good.signatures[0]._replace(signature=b"\x00" * 32),
                                *good.signatures[1:]))
    assert not verify_certificate(forged, CHAIN, VALIDATORS, verify)
    # a vote's time is signed: moving it (to move the block time) breaks the signature
    retimed = CommitCertificate(good.height, good.view, good.digest,
                                (good.signatures[0]._replace(time_ms=1), *good.signatures[1:]))
    assert not verify_certificate(retimed, CHAIN, VALIDATORS, verify)
    moved = CommitCertificate(Height(4), good.view, good.digest, good.signatures)
    assert not verify_certificate(moved, CHAIN, VALIDATORS, verify)


JUNK: list[object] = [None, 5, b"bytes", CommitCertificate(
    Height(1), View(0), Digest(b"short"),
    (CommitSignature(ValidatorId(b"x"), 0, None),))]  # type: ignore[arg-type]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_never_raises(junk: CommitCertificate) -> None:
    def exploding(*_: object) -> bool:
        raise ValueError("bad key")

    assert not verify_certificate(junk, CHAIN, VALIDATORS, verify)
    assert not verify_certificate(certificate(VALIDATORS), CHAIN, VALIDATORS, exploding)


def test_certificate_round_trips_and_decoding_is_strict() -> None:
    good = certificate(VALIDATORS[:3])
    assert decode_certificate(encode_certificate(good)) == good
    assert good.vote_times == (1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002)
    unsorted = CommitCertificate(good.height, good.view, good.digest, good.signatures[::-1])
    with pytest.raises(MalformedMessage, match="sorted"):
        decode_certificate(encode_certificate(unsorted))
    with pytest.raises(MalformedMessage):
        decode_certificate(b"\x93\x01")


@pytest.mark.parametrize("time_ms", [0, 1, 127, 128, 65_535, 2**32, 1_700_000_000_000, MAX_UINT])
@pytest.mark.parametrize("height", [0, 1, 300, MAX_UINT])
def test_every_signer_signs_the_commit_prefix_then_its_time(height: int, time_ms: int) -> None:
    for chain, view in ((CHAIN, 0), (b"senim-" * 40, 2**40)):
        prefix = commit_signing_prefix(chain, Height(height), View(view), DIGEST)
        assert prefix + pack(time_ms) == commit_signing_bytes(chain, Height(height), View(view),
                                                              DIGEST, time_ms)


_EDGES: list[object] = [None, True, False, -1, 0, 1, MAX_UINT, MAX_UINT + 1, 1.5, "x", b"",
                        b"\x01", b"\x02" * 32, b"\xff" * 33, b"\xff" * MAX_VALIDATOR_ID_BYTES,
                        b"\xff" * (MAX_VALIDATOR_ID_BYTES + 1), b"\xff" * MAX_SIGNATURE_BYTES,
                        b"\xff" * (MAX_SIGNATURE_BYTES + 1), [], [b"\x01", 0, b"\x01"]]


def _mutations(value: object) -> list[object]:
    """`value` with each item, at any depth, replaced by each edge value, dropped or
    repeated."""
    if not isinstance(value, list):
        return list(_EDGES)
    found: list[object] = [value[:-1], [*value, value[-1]]] if value else []
    for index, item in enumerate(value):
        found += [[*value[:index], changed, *value[index + 1:]] for changed in _mutations(item)]
    return found


def test_the_type_tests_take_only_what_the_checks_accept() -> None:
    """The shortcut of certificate_from_fields gives the certificate the full checks give,
    or leaves the verdict to them."""
    fields = certificate_to_fields(certificate(VALIDATORS))
    many = [[index.to_bytes(2, "big"), 0, b"\x01"] for index in range(1, MAX_VALIDATORS + 2)]
    cases = [*_mutations(fields), [*fields[:3], many[:-1]], [*fields[:3], many]]
    for case in cases:
        try:
            checked: CommitCertificate | None = _checked_fields(case)
        except MalformedMessage:
            checked = None
        assert _well_formed(case) in (None, checked), case


def test_a_well_formed_certificate_takes_the_type_tests() -> None:
    good = certificate(VALIDATORS)
    fields = certificate_to_fields(good)
    assert _well_formed(fields) == good == _checked_fields(fields)
    votes = fields[3]
    assert isinstance(votes, list)
    assert _well_formed([*fields[:3], votes[::-1]]) is None  # unsorted: the checks say so
