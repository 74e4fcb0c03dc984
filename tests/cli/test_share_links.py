"""Reading a shared link without a node: which node it names, and whether that is the node
asked (`senim verify LINK` says so when it is not)."""

from __future__ import annotations

import json

import pytest

from cli.share_links import (
    ORIGIN_SHOWN_MAX,
    LinkUnfit,
    is_link,
    links_in,
    read_link,
    same_node,
)
from cli.sharing import share_link
from tests.cli.link_variants import damaged, documents, two, whole

DOCUMENT = "#doc=e30"  # {}: enough for the link's node to be read


def test_a_node_written_another_way_is_the_same_node() -> None:
    for origin, asked in [
            ("http://127.0.0.1:7410", "http://127.0.0.1:7410/"),
            ("http://127.0.0.1", "http://127.0.0.1:80"),
            ("https://senim.edu.kz:443", "https://SENIM.edu.kz"),
            ("http://[::1]:7410", "http://[0:0::1]:7410/v1"),
            ("HTTP://Node.kz:8101", "http://node.kz:8101")]:
        assert same_node(origin, asked), (origin, asked)
    for origin, asked in [
            ("http://127.0.0.1:7410", "http://127.0.0.1:7411"),
            ("https://127.0.0.1", "http://127.0.0.1"),  # 443 is not 80
            ("http://127.0.0.1:80", "https://127.0.0.1:80"),
            ("http://[::1]:7410", "http://127.0.0.1:7410"),
            ("http://127.0.0.1:99999", "http://127.0.0.1:99999"),  # no port at all
            ("http://", "http://")]:
        assert not same_node(origin, asked), (origin, asked)


def test_a_hostile_links_node_is_named_without_control_characters_or_its_whole_length(
        ) -> None:
    named = read_link("http://evil\x1b[2J\x1b[1;1Hvalid\nkz\u202e:1/" + DOCUMENT).origin
    assert named.isprintable() and "\x1b" not in named and "\n" not in named
    assert named.startswith("http://evil")
    long = read_link("http://" + "a" * 100_000 + "/" + DOCUMENT).origin
    assert len(long) == ORIGIN_SHOWN_MAX + 1 and long.endswith("…")
    assert read_link("http://[::1]:7410/?a=1&b=2" + DOCUMENT).origin == "http://[::1]:7410"


def test_a_link_quoted_as_a_kazakh_or_russian_letter_quotes_it_is_read() -> None:
    link = "http://127.0.0.1:7410/" + DOCUMENT
    for quoted in (f"«{link}».", f"„{link}“", f"“{link}”,", f"<{link}>.", f"'{link}'"):
        assert is_link(quoted), quoted
        assert read_link(quoted).document == b"{}", quoted


def test_a_link_a_letter_or_a_chat_broke_is_read_as_it_was_made() -> None:
    document = {"format": "senim-credential/v1", "fields": {"full_name": {"value": "Әлия"}}}
    made = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    for compressed in (False, True):
        link = share_link(document, "http://127.0.0.1:7410", compressed)
        for what, sent in whole(link).items():
            assert sent != link and is_link(sent), what
            assert read_link(sent).document == made, (what, compressed)
        for what, sent in damaged(link).items():  # senim verify reads no JSON from it
            try:
                carried = read_link(sent).document
            except LinkUnfit as exc:
                assert exc.sentence.key == "cli.link.damaged", (what, exc.sentence.key)
                continue
            with pytest.raises(ValueError):
                json.loads(carried)
        for what, sent in two(link).items():
            assert is_link(sent), what  # read as links, and refused as two
            with pytest.raises(LinkUnfit) as refused:
                read_link(sent)
            assert refused.value.sentence.key == "cli.link.two", what
        for what, sent in documents(link).items():
            assert not is_link(sent) and links_in(sent) == [], what


@pytest.mark.timeout(20)
def test_a_long_text_with_no_redirect_in_it_is_read_at_once() -> None:
    """A redirect is cut out by hand: a pattern of host, path and "?" backtracked for
    minutes over a 200 KB text with no "?" in it (a box the whole letter was pasted in)."""
    for text in ("http://" + "a" * 200_000, "http://" + "a" * 100_000 + "/" + "b" * 100_000,
                 "http://a?" * 50_000):
        assert len(links_in(text)) == 1
        with pytest.raises(LinkUnfit):
            read_link(text)
