"""A --node that answers with a redirect to an address where nothing listens: the address
that did not answer is named, not --node, which did (with the redirect). It said "cannot
reach the node at <--node>: nothing answers at that address", sending the operator to check
an address that was right."""

from __future__ import annotations

import socket

from cli.client import ClientError, NodeClient
from cli.language import Words
from tests.cli.scripted_node import ScriptedNode


def test_a_redirect_to_a_closed_port_names_where_it_went(node_stub: ScriptedNode) -> None:
    # a port held, never listened on: a connection to it is refused for the whole test
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/v1/status"
    node_stub.answers = lambda method, path: (301, {"moved": nowhere})
    node_stub.headers = {"Location": nowhere}
    try:
        NodeClient(node_stub.url, timeout_s=5).status()
    except ClientError as exc:
        assert exc.sentence is not None
        for lang in ("en", "kk", "ru"):
            said = exc.sentence.said(Words(lang))
            assert nowhere in said and f"{node_stub.url} " not in said, said
    else:
        raise AssertionError("a redirect to nothing was answered")
    finally:
        closed.close()
