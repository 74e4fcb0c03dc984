"""The signed messages a view change is built from, for tests that need well-formed ones.

Shared by the codec tests (`tests.consensus.test_messages`), the fuzzers' seeds
(`tests.fuzz.samples`) and the simulators' forgers (`tests.sim.forgeries`); each
passes its own `sign`, so the same shapes carry fake, real or forged signatures.
"""

from collections.abc import Callable, Sequence

from consensus import (
    Digest,
    Height,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    SignedMessage,
    ValidatorId,
    View,
    ViewChange,
)

Sign = Callable[[ValidatorId, Message], SignedMessage]


def prepared_view_change(sign: Sign, proposer: ValidatorId, preparers: Sequence[ValidatorId],
                         view: View, height: Height, digest: Digest, block: bytes
                         ) -> tuple[PrePrepare, ViewChange]:
    """A proposal of `block` in `view`, and the view change to `view + 1` that carries it
    prepared: signed by `proposer`, with a prepare signed by each of `preparers`."""
    proposal = PrePrepare(view, height, digest, block)
    prepares = tuple(sign(v, Prepare(view, height, digest)) for v in preparers)
    prepared = PreparedCertificate(sign(proposer, proposal), prepares)
    return proposal, ViewChange(View(view + 1), height, prepared)


def new_view_on(sign: Sign, change: ViewChange, senders: Sequence[ValidatorId],
                proposal: SignedMessage | None) -> NewView:
    """The new view that `change` asks for, justified by `change` as each of `senders`
    signed it."""
    return NewView(change.new_view, change.height, tuple(sign(v, change) for v in senders),
                   proposal)
