"""A link from `senim share` or the holder's page, read back into the document it carries,
so that `senim verify LINK` checks it against the node the reader chose, not the one the
link opens.

Whoever sends a link picks the node that checks it: an applicant with a forged diploma
can send a link to a node of their own that calls it genuine. The reader's own node (or,
with --genesis, no single node at all) is the guard; the link's node is only named.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import json
import re
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from cli.spoken import Sentence

# `senim share` and the holder's page put the document, base64url without padding, after
# #doc= (its JSON) or #docz= (the JSON deflated, for a QR code), the whole fragment. A
# fragment with more before them ("#a#docz=…") is no link they made but one changed: it is
# called damaged, as the portal (portal-links.js, documentFromLink) calls it.
LINK_FRAGMENT = re.compile(r"#(docz?)=(.*)\Z", re.DOTALL)
_DOCUMENT_KEY = re.compile("docz?=")
BASE64URL = re.compile(r"[A-Za-z0-9_-]*\Z")
# What a link's node is called: its scheme, host and port, as written (not parsed: a
# malformed host is still named as the sender wrote it).
ORIGIN = re.compile(r"(?i)(https?)://([^/?#]*)")
# The most of that name said: a host name is at most 253 characters, so a longer one is
# no node's, and a link's sender would otherwise fill the verdict with it.
ORIGIN_SHOWN_MAX = 300
DEFAULT_PORTS = {"http": 80, "https": 443}
# The most a link's document may inflate to, so that a small link cannot make `senim
# verify` allocate gigabytes: a credential or a VC with its proof is far less (a file it
# parses may be larger, up to cli.verify_files.DOCUMENT_FILE_BYTES_MAX, 64 MiB).
LINK_DOCUMENT_BYTES_MAX = 4 << 20
# Around a link copied out of a letter or a chat: <…>, (…), quotes (a Kazakh or Russian
# letter's «…» and „…“ among them), and a full stop after it (none of which a link's
# document, in base64url, ends with).
WRAPPING = " \t\r\n<>()\"'.,;«»“”„‘’"
# What a letter or a chat puts inside a long link it breaks over lines: a line break, and
# the indentation or a reply's "> " after it, a space, a no-break or zero-width space, a
# soft hyphen. None of them can be part of a link (a URL has no whitespace, base64url none
# of these), so removing them gives back the link exactly as it was made. The portal
# (node/static/portal-links.js, pastedLinks) removes the same characters.
_BREAKS = re.compile("[\t\n\v\f\r \u00a0\u00ad\u1680\u2000-\u200d\u2028\u2029\u202f"
                     "\u205f\u2060\u3000\ufeff]+")
_LINE_START = re.compile(r"(?:\r\n|\n|\r)[ \t>]*")
# A mail client that shows a letter's quoted-printable text undecoded ends its lines with
# "=" (a soft line break) and writes every "=" as "=3D", the link's own "#doc=" among them.
# Read as that only when both are there: a plain link broken just after "#doc=" has the
# first and not the second, and a deflated document's base64url may begin with "3D".
_SOFT_BREAK = re.compile(r"=[ \t]*\n")
_ESCAPED_EQUALS = re.compile("=3D", re.IGNORECASE)
# Where a link begins in the text it was sent in: the words before it ("Here is my
# diploma:", "Диплом:") are no part of it. ASCII letters only, as the portal's /…/i reads
# them (Python's IGNORECASE alone takes "ſ" for "s").
_LINK_START = re.compile("https?://", re.ASCII | re.IGNORECASE)
# The most links `links_in` gives back: one is read; with a second the reader is asked
# which, not guessed for.
LINKS_TOLD = 2
# The most different links a letter is searched for the one that carries a document: its
# other links (the university's site, a signature's, an unsubscribe link) carry none, and
# the one that does is read; two that do are told as two.
LINKS_READ_MAX = 8
# The most words after a link (on its last line, or on lines after it with no blank line
# between: "Спасибо, Айгерим", "Rahmet!") left out to find where the link ends, when the
# text read whole carries no whole document. Each try decodes the link again, inflating at
# most LINK_DOCUMENT_BYTES_MAX.
TRAILING_WORDS_MAX = 6
# The redirects a mail or chat service wraps each link of a letter in, the link itself
# percent-encoded in one query parameter: (host, path, the parameter's names). The link is
# only taken out of the text; nothing is fetched. Outlook's SafeLinks, Google's (in Gmail
# and Google Docs), VK's and Facebook's away pages; portal-links.js lists the same.
REDIRECTS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"(?:[a-z0-9-]+\.)*safelinks\.protection\.outlook\.com\Z"), "/", ("url",)),
    (re.compile(r"(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?\Z"), "/url", ("q", "url")),
    (re.compile(r"(?:m\.)?vk\.com\Z"), "/away.php", ("to",)),
    (re.compile(r"lm?\.facebook\.com\Z"), "/l.php", ("u",)),
)
# A redirect wrapped in another (SafeLinks around Google's) is read through this many.
REDIRECTS_NESTED_MAX = 3
_NO_ESCAPE = re.compile("%(?![0-9A-Fa-f]{2})")
# A piece of a link a space or a line break cut it into: only what a URL may hold (RFC
# 3986's characters and "%"), and what wraps a link in a letter.
_URL_PIECE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%<>\"«»“”„‘’-]+\Z")


class LinkUnfit(Exception):
    """A link no document can be read from; `sentence` says why."""

    def __init__(self, sentence: Sentence) -> None:
        super().__init__(str(sentence))
        self.sentence = sentence


@dataclass(frozen=True)
class SharedLink:
    origin: str  # the node whose portal the link opens: scheme://host[:port]
    document: bytes  # the document's bytes, as a credential file holds them
    words_after: str = ""  # the letter's words after the link, left out to read it


def rejoined(value: str) -> str:
    """The text a link was copied in, from where the link begins, without what wraps it
    and the line breaks and spaces a letter or a chat put inside it."""
    text = _LINE_START.sub("\n", value.strip(WRAPPING))
    if _SOFT_BREAK.search(text) and _ESCAPED_EQUALS.search(text):
        text = _ESCAPED_EQUALS.sub("=", _SOFT_BREAK.sub("", text))
    start = _LINK_START.search(text)
    # The words before the link ("Диплом: ") are no part of it; but a "{" before is a
    # document's JSON, whose links (a VC's "@context") are none sent to be opened.
    if start is not None and "{" not in text[:start.start()]:
        text = text[start.start():]
        # A mail client wraps a long link over lines but leaves no blank one in it: what
        # follows a blank line is the letter's sign-off ("С уважением, Дана"), unless it
        # holds another link (two links are told as two).
        link, blank, rest = text.partition("\n\n")
        if blank and not _LINK_START.search(rest):
            text = link
    return _BREAKS.sub("", text).strip(WRAPPING)


def links_in(value: str) -> list[str]:
    """The different links in the text that matter, each as it was made (a redirect a mail
    service wrapped it in removed), in their order, no more than LINKS_TOLD: the one link
    that carries a document (#doc=, #docz=, whole or not) when only one among them does,
    else those that do, else those there are. A letter's other links are not read for it."""
    links = _all_links(value)
    carrying = [link for link in links if _DOCUMENT_KEY.search(_unescaped_fragment(link))]
    return (carrying or links)[:LINKS_TOLD]


def _all_links(value: str) -> list[str]:
    """The different links in the text, in their order; no more than LINKS_READ_MAX."""
    text = rejoined(value)
    if not _LINK_START.match(text):
        return []
    # A link's start after "=" is a query's value (a redirect's q=https://…), no new link.
    starts = [found.start() for found in _LINK_START.finditer(text)
              if found.start() == 0 or text[found.start() - 1] != "="]
    links: list[str] = []
    for at, start in enumerate(starts):
        end = starts[at + 1] if at + 1 < len(starts) else len(text)
        link = _unredirected(text[start:end].strip(WRAPPING))
        if link not in links:
            links.append(link)
            if len(links) == LINKS_READ_MAX:
                break
    return links


def _unredirected(link: str) -> str:
    """The link a redirect (REDIRECTS) carries in its query, percent-decoded; `link` when
    it is none, or carries no http(s) link that decodes. Cut by hand, not by a pattern of
    host, path and query, which backtracks for a long text with no "?" in it."""
    for _ in range(REDIRECTS_NESTED_MAX):
        scheme = _LINK_START.match(link)
        if scheme is None:
            break
        before, question, query = link[scheme.end():].partition("#")[0].partition("?")
        if not question:
            break
        host, slash, path = before.partition("/")
        names = next((names for hosts, at, names in REDIRECTS
                      if at == (slash + path or "/") and hosts.match(host.lower())), ())
        inner = next((value for name, _, value in
                      (pair.partition("=") for pair in query.split("&"))
                      if name in names), None)
        if inner is None or _NO_ESCAPE.search(inner):
            break  # not read, as the portal's decodeURIComponent cannot read it
        try:
            inner = unquote(inner, errors="strict")
        except UnicodeDecodeError:
            break
        if not _LINK_START.match(inner):
            break
        link = inner
    return link


def is_link(value: str) -> bool:
    return bool(links_in(value))


def link_alone(value: str) -> bool:
    """Whether the text is one link carrying a document (#doc=… or #docz=…) and nothing
    else: what wraps a link, and the line breaks and spaces a mail client or a chat puts
    inside one, but no words before it and no blank line (a mail client leaves none in a
    link it wraps) with a sign-off after. A file is read as a link only so: an order or a
    letter that mentions a URL, or has a genuine link pasted under forged words, is a
    document of its own, and reading only its link would leave its words unchecked."""
    text = _LINE_START.sub("\n", value.strip(WRAPPING))
    if _SOFT_BREAK.search(text) and _ESCAPED_EQUALS.search(text):
        text = _ESCAPED_EQUALS.sub("=", _SOFT_BREAK.sub("", text))
    if "\n\n" in text or not _LINK_START.match(text):
        return False
    if not all(_URL_PIECE.match(piece) for piece in _BREAKS.split(text) if piece):
        return False  # a word of a language, or a sentence's punctuation: no link's piece
    links = _all_links(text)
    return (len(links) == 1
            and LINK_FRAGMENT.match(_unescaped_fragment(links[0])) is not None)


def read_link(value: str) -> SharedLink:
    """The document a link carries; LinkUnfit if it carries none, or none whole, or the
    text holds two different links. A link followed by the letter's words on its line
    ("…#docz=q1ZK Спасибо!") had them read as part of it, since a letter's line breaks and
    spaces inside a link are removed: when the text read whole carries no whole document,
    its last words are left out, one more at a time (TRAILING_WORDS_MAX), and the link read
    so is taken when exactly one such reading carries a whole JSON document; a base64url
    word ("Rahmet") glued to a deflated document leaves data after its end, and one glued
    to a plain one breaks its JSON, so no two readings carry one."""
    try:
        whole = _read_link(value)
    except LinkUnfit as exc:
        if exc.sentence.key != "cli.link.damaged":
            raise
        readings = _without_words_after(value)
        if len(readings) != 1:
            raise
        return readings[0]
    if _carries_object(whole.document):
        return whole
    readings = _without_words_after(value)  # base64url's letters after a plain document
    return readings[0] if len(readings) == 1 else whole


def _carries_object(document: bytes) -> bool:
    """Whether `document` is a JSON object, as every document a link carries is."""
    try:
        return isinstance(json.loads(document), dict)
    except (ValueError, RecursionError):
        return False


def _without_words_after(value: str) -> list[SharedLink]:
    """The readings of `value` with its last 1..TRAILING_WORDS_MAX words left out that
    carry a whole JSON document, each naming the words it left out."""
    text = value.strip(WRAPPING)
    breaks = [found.start() for found in _BREAKS.finditer(text)][-TRAILING_WORDS_MAX:]
    readings: list[SharedLink] = []
    for cut in reversed(breaks):
        kept = text[:cut]
        if not _DOCUMENT_KEY.search(kept):
            break  # the link's own fragment left out: no more of it to read
        try:
            link = _read_link(kept)
        except LinkUnfit:
            continue
        if not _carries_object(link.document):
            continue
        words = " ".join(_BREAKS.sub(" ", text[cut:]).split())
        readings.append(SharedLink(link.origin, link.document, words))
    return readings


def _read_link(value: str) -> SharedLink:
    links = links_in(value)
    if len(links) > 1:
        raise LinkUnfit(Sentence("cli.link.two", None))
    link = links[0] if links else rejoined(value)
    origin = _origin(link)
    fragment = _unescaped_fragment(link)
    found = LINK_FRAGMENT.match(fragment)
    if found is None:
        key = "cli.link.damaged" if _DOCUMENT_KEY.search(fragment) else "cli.link.no_document"
        raise LinkUnfit(Sentence(key, None, origin=origin))
    kind, payload = found.groups()
    if not BASE64URL.match(payload):  # a character changed, or a space where it was broken
        raise LinkUnfit(Sentence("cli.link.damaged", None, origin=origin))
    try:
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise LinkUnfit(Sentence("cli.link.damaged", None, origin=origin)) from None
    if kind == "docz":
        data = _inflated(data, origin)
    if not data:
        raise LinkUnfit(Sentence("cli.link.damaged", None, origin=origin))
    return SharedLink(origin, data)


def _unescaped_fragment(link: str) -> str:
    """The link's fragment, "%20" and the like decoded and such spaces removed: a link
    copied out of a browser's address bar where it was pasted with a space in it holds the
    space so. Base64url has no "%"; what does not decode stays, to be called damaged, as
    the portal (portal-links.js, unescapedFragment) does."""
    fragment = link[link.find("#"):] if "#" in link else ""
    if "%" not in fragment:
        return fragment
    try:
        return _BREAKS.sub("", unquote(fragment, errors="strict"))
    except UnicodeDecodeError:
        return fragment


def _inflated(data: bytes, origin: str) -> bytes:
    """Raw deflate, as the portal's DecompressionStream('deflate-raw') reads it, to at most
    LINK_DOCUMENT_BYTES_MAX bytes."""
    unpacker = zlib.decompressobj(-15)
    try:
        out = unpacker.decompress(data, LINK_DOCUMENT_BYTES_MAX + 1)
    except zlib.error:
        raise LinkUnfit(Sentence("cli.link.damaged", None, origin=origin)) from None
    if len(out) > LINK_DOCUMENT_BYTES_MAX:
        raise LinkUnfit(Sentence("cli.link.too_large", None, origin=origin,
                                 megabytes=LINK_DOCUMENT_BYTES_MAX >> 20))
    # Cut short when it was sent or copied; or more after its end (a browser's
    # DecompressionStream refuses that too, so the portal and this say the same).
    if not unpacker.eof or unpacker.unused_data:
        raise LinkUnfit(Sentence("cli.link.damaged", None, origin=origin))
    return out


def _origin(url: str) -> str:
    """The link's node as the verdict names it: what its sender wrote, but no control
    character (a terminal escape or a line break in a hostile link would rewrite the lines
    around it), and no more than ORIGIN_SHOWN_MAX characters."""
    found = ORIGIN.match(url)
    named = f"{found[1].lower()}://{found[2]}" if found else url[:64]
    named = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in named)
    return named if len(named) <= ORIGIN_SHOWN_MAX else named[:ORIGIN_SHOWN_MAX] + "…"


def _node_place(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port, as a client connects: the host's case and an IP address's
    spelling aside, the scheme's own port when none is written. None: no http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    with contextlib.suppress(ValueError):  # a name, not an address
        host = ipaddress.ip_address(host).compressed
    return scheme, host, DEFAULT_PORTS[scheme] if port is None else port


def same_node(origin: str, node_url: str) -> bool:
    """Whether the link opens the portal of the node asked (by scheme, host and port, so
    `http://h` is `http://H:80/`)."""
    place = _node_place(origin)
    return place is not None and place == _node_place(node_url)
