"""A link as an HR officer gets it from a letter or a chat: broken over lines, a space put
in it, quoted as a reply, shown as undecoded quoted-printable, wrapped in <…> or «…» with a
full stop, with words before it, inside a mail service's redirect. `senim verify`
(tests/cli/test_verify_links.py), read_link (tests/cli/test_share_links.py) and the
portal's box (tests/browser/test_portal_pasted_links.py) are given the same ones, and must
read each whole one as the link it was, call each damaged one damaged, refuse a text of
two different links, and take a document's JSON for no link."""

from __future__ import annotations

import json
from urllib.parse import quote

SITE = "https://www.kaznu.kz/en"  # a letter's other link, which carries no document


def _lines(text: str, width: int, joint: str) -> str:
    return joint.join(text[at:at + width] for at in range(0, len(text), width))


def quoted_printable(link: str, newline: str = "\n") -> str:
    """The link in a letter's quoted-printable text, as a mail client that does not decode
    it shows it: every "=" written "=3D", lines of at most 76 characters ending in "="."""
    escaped = link.replace("=", "=3D")
    lines: list[str] = []
    while escaped:
        cut = 75
        while "=" in escaped[max(cut - 2, 0):cut] and len(escaped) > cut:
            cut -= 1  # an escape ("=3D") is never broken
        lines.append(escaped[:cut])
        escaped = escaped[cut:]
    return ("=" + newline).join(lines)


def safelinks(link: str) -> str:
    """The link as Outlook's SafeLinks rewrites it in a letter it delivers."""
    return ("https://eur01.safelinks.protection.outlook.com/?url=" + quote(link, safe="")
            + "&data=05%7C02%7Chr%40example.kz%7C5f3c0b1e%7C0%7C0%7C638690"
              "%7CUnknown&sdata=q1ZKyy%2BK4%3D&reserved=0")


def google(link: str, safe: str = ":/") -> str:
    """The link as Gmail or Google Docs rewrites it (its "://" kept, or all encoded)."""
    return (f"https://www.google.com/url?q={quote(link, safe=safe)}&sa=D&source=editors"
            "&ust=1733284800000000&usg=AOvVaw3x")


def whole(link: str) -> dict[str, str]:
    """What a letter or a chat made of `link`, by what it did: each carries it whole."""
    middle = len(link) // 2
    return {
        "two lines": link[:middle] + "\n" + link[middle:],
        "indented lines": _lines(link, 60, "\n    "),
        "Windows lines": _lines(link, 70, "\r\n"),
        "a space put in": link[:middle] + " " + link[middle:],
        "spaces put in": _lines(link, 33, " "),
        "a reply's quoting": "> " + _lines(link, 64, "\n> > "),
        "quoted-printable": quoted_printable(link),
        "quoted-printable, Windows lines": quoted_printable(link, "\r\n"),
        "<…> over lines": "<" + _lines(link, 50, "\n ") + ">.",
        "«…» over lines": "«" + _lines(link, 50, "\n") + "».",
        "a zero-width space": link[:middle] + "\u200b" + link[middle:],
        "a no-break space": link[:middle] + "\u00a0" + link[middle:],
        "a soft hyphen": link[:middle] + "\u00ad" + link[middle:],
        "broken after #doc=": link.replace("=", "=\n", 1),
        # pasted in a browser's address bar, and copied back out of it
        "a space written %20": link[:middle] + "%20" + link[middle:],
        "a no-break space written %C2%A0": link[:middle] + "%C2%A0" + link[middle:],
        # a letter's sign-off below a blank line: a mail client wraps a link, but leaves no
        # blank line in it (it was called cut short or changed)
        "the letter's sign-off below it": _lines(link, 60, "\n") + "\n\nRahmet, Aigerim",
        # twelve letters: base64 of whole bytes, after the document's own
        "a sign-off of base64url's letters below it": link + "\n\nRahmet Aidana",
        "a quoted sign-off below it": "> " + link + "\n>\n> С уважением,\n> Дана",
        # in a sentence of the letter or the chat
        "words before it": "Here is my diploma: " + link,
        "Russian words before it, over lines": "Диплом:\n" + _lines(link, 60, "\n"),
        "Kazakh words before it, (…)": "Дипломымның сілтемесі (" + link + ").",
        "the same link twice": "Сілтеме: " + link + "\n<" + link + ">",
        # inside a mail service's redirect: the link is read out of it, nothing is opened
        "Outlook's SafeLinks": safelinks(link),
        "SafeLinks over lines": _lines(safelinks(link), 70, "\n"),
        "SafeLinks in quoted-printable": quoted_printable(safelinks(link)),
        "Outlook's text: the link, then its SafeLinks": f"{link} <{safelinks(link)}>",
        "Google's redirect": google(link),
        "Google's redirect, all encoded": google(link, ""),
        "SafeLinks around Google's": "Диплом: " + safelinks(google(link)),
        "VK's away page": f"https://vk.com/away.php?to={quote(link, safe='')}&cc_key=",
        # the letter's words after it on its line: left out where the link ends
        "the letter's words after it, on its last line": link + " Rahmet, Aigerim",
        "base64url's letters after it, on its line": link + " Rahmet Aidana",
        "words after it over lines": _lines(link, 60, "\n") + " Спасибо!\nДана",
        # among a letter's other links, which carry no document
        "a site's link before it": f"Al-Farabi KazNU ({SITE}), my diploma: {link}",
        "another link after it, over lines": _lines(link, 60, "\n") + "\n--\n" + SITE,
        "SafeLinks of another after it": f"{link}\n<{safelinks(SITE)}>",
        "a whole letter": (f"Сәлеметсіз бе!\n\nМенің дипломым ({SITE} берген): {link} "
                           f"Рақмет!\n\nҚұрметпен,\nАйгерим\n{SITE}"),
    }


def damaged(link: str) -> dict[str, str]:
    """What carries no whole document however its breaks are removed."""
    short = link[:-40]
    payload = link.index("#") + 6
    # base64url's "-" and "_" written as base64's "+" and "/": changed, though a lenient
    # decoder (the browser's atob) would read it
    plus = link[:payload] + link[payload:].replace("-", "+").replace("_", "/")
    return {
        "base64 for base64url": plus if plus != link else link[:payload] + "+" + link[payload:],
        "cut short, over lines": _lines(short, 60, "\n  "),
        "cut short, quoted-printable": quoted_printable(short),
        "a % that is no escape": link[:-20] + "%" + link[-20:],
        "an escape of no character": link[:-20] + "%FF" + link[-20:],
        "a character changed, over lines": _lines(link[:-5] + "!" + link[-4:], 60, "\n"),
        "an escape left in quoted-printable": quoted_printable(link[:80] + "\t" + link[80:])
        .replace("\t", "=09"),
        # no link `senim share` makes has more in its fragment before the document
        "a fragment before the document's": link.replace("#", "#a#", 1),
        "SafeLinks of it cut short": safelinks(short),
    }


def two(link: str) -> dict[str, str]:
    """Two different links to documents: which one is meant is asked, not guessed."""
    return {
        "another document's link": f"{link}\n{link[:-40]}",
        "in a letter with a site's link": f"Дипломдар: {link} және {link[:-40]}\n{SITE}",
    }


def documents(link: str) -> dict[str, str]:
    """A document's JSON pasted, links inside it: no link to read (a VC's "@context" is
    two), but the document itself, or the letter's words around it."""
    vc = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://senim.kz/ns/v1"],
          "type": ["VerifiableCredential"], "evidence": [{"id": link}]}
    return {
        "a VC's JSON": json.dumps(vc, indent=2),
        "a VC's JSON with words before it": "Here is my diploma:\n" + json.dumps(vc),
    }
