import pytest

from consensus import InvalidConfig, ReplicaConfig, ValidatorId

A, B = ValidatorId(b"a" * 20), ValidatorId(b"b" * 20)


def test_valid_config_exposes_f_and_quorum() -> None:
    config = ReplicaConfig(b"chain", (A, B), A)
    assert (config.max_faulty, config.quorum) == (0, 2)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"chain_id": b""}, "chain_id"),
        ({"validators": ()}, "validators"),
        ({"validators": (A, A)}, "distinct"),
        ({"validators": (A, ValidatorId(b""))}, "validator id"),
        ({"self_id": ValidatorId(b"c")}, "self_id"),
        ({"base_timeout_ticks": 0}, "timeout"),
        ({"base_timeout_ticks": 10, "max_timeout_ticks": 5}, "timeout"),
        ({"max_block_bytes": 0}, "max_block_bytes"),
    ],
)
def test_bad_config_is_refused_with_reason(changes: dict[str, object], reason: str) -> None:
    fields: dict[str, object] = {"chain_id": b"chain", "validators": (A, B), "self_id": A}
    fields.update(changes)
    with pytest.raises(InvalidConfig, match=reason):
        ReplicaConfig(**fields)  # type: ignore[arg-type]
