"""How a key rotation sent through the member's own node ended, when that node cannot say.

A node that does not validate and signs with the key being rotated away from is dropped
by its peers in the very block that commits the rotation (`node.validators.peer_keys`).
They hand it that block as they drop it (`p2p.peer.Peer.leave`), and it takes the block
when it had every one before; one behind its peers, or whose peers' frames did not get
through, never learns it, and its long-poll says "pending" for good (the operator was told
the rotation was not in when it was). So the rotation is asked of the nodes given as
--check-node (another member's), and failing those the operator is told why this node
cannot tell and how to find out, not that the rotation is pending.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import COMMIT_WAIT_S, MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import usable_node_url
from cli.errors import EXIT_BAD_INPUT, EXIT_PENDING, EXIT_UNREACHABLE
from cli.refusals import node_said
from cli.spoken import Sentence, echo, refuse, warn
from ledger.identity import KeyPair

# How long each other node is asked: the rotation was sent a minute ago already (the own
# node's long-poll), so a node that has it answers at once; one still catching up gets
# a little while.
CHECK_WAIT_S = 20.0
# How long the own node is waited on when another node can be asked: a block or two (it
# learns the rotation only if the block reaches it before its peers drop it).
OWN_WAIT_S = 10.0
# How long a --check-node has to say it is a node of this chain, before anything is sent
CHECK_NODE_STATUS_TIMEOUT_S = 10.0


def _usable_nodes(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
                  ) -> tuple[str, ...]:
    """Each --check-node refused as --node is, when it carries a login."""
    return tuple(usable_node_url(ctx, param, url) for url in value)


check_node_option = click.option(
    "--check-node", "check_nodes", multiple=True, callback=_usable_nodes, metavar="URL",
    help="Another member's node, asked how the rotation ended when --node (this key's own "
         "node) cannot tell: its peers drop it once the rotation commits. Repeatable.")


def check_nodes_answer(check_nodes: tuple[str, ...], chain_id: str) -> None:
    """Each --check-node asked before the rotation is sent: one that is no URL, does not
    answer or runs another chain is said now, with nothing sent, not passed over in
    silence after the rotation is in."""
    for url in check_nodes:
        try:
            other = str(NodeClient(url, timeout_s=CHECK_NODE_STATUS_TIMEOUT_S).status()["chain_id"])
        except ClientError as exc:
            refuse(Sentence("key.rotate.check_node_unreachable", f"--check-node {url}: {exc}",
                            url=url, why=node_said(exc)), exc.exit_code)
        except MALFORMED_ANSWER:
            refuse(Sentence("cli.node.malformed_answer", f"{url} sent a malformed answer: is "
                            "it a Senim node?", node=url), EXIT_UNREACHABLE)
        if other != chain_id:
            refuse(Sentence("key.rotate.check_node_other_chain", f"--check-node {url} is not "
                            f"a node of this chain ({chain_id}): nothing was sent", url=url,
                            chain=chain_id), EXIT_BAD_INPUT)


class OwnNode:
    """The node the rotation goes through, when it signs with the key rotated away from
    and does not validate (a validator's is heard two blocks more, and learns the block)."""

    def __init__(self, url: str, status: dict[str, Any], current: KeyPair) -> None:
        self.url = url
        self.cut_off = (status.get("public_key") == current.public_key.hex()
                        and not status.get("validator"))

    def forewarn(self, check_nodes: tuple[str, ...]) -> None:
        """Before sending, with no other node to ask: the operator learns now, not after a
        minute's wait, that this node may not be able to say how the rotation ended."""
        if self.cut_off and not check_nodes:
            warn(Sentence("key.rotate.no_check_node", f"{self.url} signs with the key being "
                          "rotated away and does not validate: its peers drop it once the "
                          "rotation commits, handing it that block as they do, which it "
                          "takes only if it has every block before it; give --check-node "
                          "URL (another member's node) to be told in any case",
                          node=self.url))

    def wait_s(self, check_nodes: tuple[str, ...]) -> float:
        """How long the own node's long-poll lasts: a minute, as for any transaction,
        unless this node cannot learn the outcome and another node can be asked."""
        return OWN_WAIT_S if self.cut_off and check_nodes else COMMIT_WAIT_S

    def settle(self, tx_id: str, check_nodes: tuple[str, ...], current: KeyPair,
               new: KeyPair, new_key_path: Path) -> dict[str, Any] | None:
        """The rotation's final answer (committed or rejected) from another node; else the
        command ends saying why this node cannot tell (exit 75, as pending). None for any
        other node."""
        if not self.cut_off:
            return None
        for url in check_nodes:
            try:
                result = NodeClient(url).wait(tx_id, CHECK_WAIT_S)
            except (ClientError, *MALFORMED_ANSWER):
                continue  # not reached, or it has not seen the rotation: the next one
            if result.get("status") == "committed":
                echo(Sentence("key.rotate.confirmed_by", f"{self.url} cannot tell (its "
                              f"peers dropped it); {url} says the rotation committed",
                              node=self.url, other=url))
                return result
            if result.get("status") == "rejected":
                return result  # final, and said as the own node's refusal would be
        member, public = current.member_id.hex(), new.public_key.hex()
        refuse(Sentence("key.rotate.unconfirmed", f"key rotation sent, but {self.url} cannot "
                        f"tell whether it committed: it signs with the old key "
                        f"({current.public_key.hex()[:16]}…), and its peers drop it as soon "
                        "as the rotation commits. Ask another member's node: senim members "
                        f"--node URL shows member {member} with key {public[:16]}… once it is "
                        f"in; then restart this node with [node] key = \"{new_key_path}\"",
                        node=self.url, old=current.public_key.hex()[:16], member=member,
                        public=public[:16], setting=f'[node] key = "{new_key_path}"'),
               EXIT_PENDING)

    def restart_line(self, new: KeyPair, new_key_path: Path, old_key_path: Path) -> None:
        """After a rotation that committed, the node it went through, named: it was dropped
        in that block, and nothing it is sent reaches the consortium until restarted."""
        if not self.cut_off:
            return
        setting = f'[node] key = "{new_key_path}"'
        echo(Sentence("key.rotate.own_node", f"{self.url} still signs with {old_key_path}'s "
                      f"key, which its peers no longer admit: restart it now with {setting} "
                      f"(public key {new.public_key.hex()[:16]}…)", node=self.url,
                      old=old_key_path, setting=setting, public=new.public_key.hex()[:16]))
