"""Canonicalisation through one loader from several threads at once, as `senim verify`
does when it asks several nodes (cli.several_nodes): PyLD's caches of processed contexts,
which the loader keeps, are unguarded, and two threads in them at once broke them (a
genuine credential came out malformed). A loader lets one thread at a time canonicalise,
and one made for a command that checks a document against several nodes canonicalises
each document once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import ledger.vc.canon_pyld
from ledger.vc.canon import CREDENTIALS_V2, BundledLoader, canonize, remembering_loader

DOCUMENT = {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
            "issuer": "did:example:university", "credentialSubject": {"id": "did:example:s"}}
# Long enough for a second caller let in beside the first to arrive; a caller let in
# alone waits it out and goes on.
OTHER_CALLER_WAIT_S = 1.0


class CountingNormalize:
    """PyLD's normalize, counting the callers inside it at once: each waits (up to
    OTHER_CALLER_WAIT_S) for another to come in beside it, so that two let in together
    are always seen together."""

    def __init__(self, real: Callable[[Mapping[str, Any], Any, Any], str]) -> None:
        self.real, self.inside, self.most, self.calls = real, 0, 0, 0
        self.guard = threading.Lock()
        self.another_came = threading.Event()

    def __call__(self, document: Mapping[str, Any], loader: Any, processed: Any) -> str:
        with self.guard:
            self.calls += 1
            self.inside += 1
            self.most = max(self.most, self.inside)
            if self.inside > 1:
                self.another_came.set()
        try:
            self.another_came.wait(OTHER_CALLER_WAIT_S)
            return self.real(document, loader, processed)
        finally:
            with self.guard:
                self.inside -= 1


def in_two_threads(work: Callable[[], str]) -> list[str]:
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    return results


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingNormalize:
    counter = CountingNormalize(ledger.vc.canon_pyld.normalize)
    monkeypatch.setattr(ledger.vc.canon_pyld, "normalize", counter)
    return counter


def test_one_thread_at_a_time_canonicalises_through_the_shared_loader(
        counting: CountingNormalize) -> None:
    first, second = in_two_threads(lambda: canonize(DOCUMENT))
    assert counting.most == 1
    assert first == second == canonize(DOCUMENT)


def test_one_thread_at_a_time_canonicalises_through_a_loader_of_its_own(
        counting: CountingNormalize) -> None:
    loader = BundledLoader()
    in_two_threads(lambda: canonize(DOCUMENT, loader))
    assert counting.most == 1


def test_a_remembering_loader_canonicalises_a_document_once_for_all_threads(
        counting: CountingNormalize) -> None:
    loader = remembering_loader()
    first, second = in_two_threads(lambda: canonize(DOCUMENT, loader))
    assert counting.calls == 1
    assert first == second == canonize(DOCUMENT, loader)
    other = {**DOCUMENT, "id": "urn:uuid:6a1e4c52-2f7d-4bb5-8a3e-0d5a3c1b9f10"}
    assert canonize(other, loader) != first  # another document is its own
    assert counting.calls == 2
