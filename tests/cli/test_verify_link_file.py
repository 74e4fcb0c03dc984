"""`senim verify FILE` where FILE holds a link from `senim share` or the holder's page, not
the credential: the link saved to a text file, or the letter it came in saved whole. The
file was checked as an anchored document, and a genuine diploma's link was said to be "no
record of this file on the Senim chain" (exit 1). A file that is one link and nothing else
is read as the link given as an argument is, its document checked against the reader's
node, and the verdict says the link was read out of the file; a text with words around a
link (a letter, an order citing a web page) is a document of its own, checked as a file."""

from __future__ import annotations

import json
from pathlib import Path

from cli.language import catalogue
from cli.sharing import share_link
from tests.cli.test_verify_across_set_changes import net, node_url, senim, verdict_of
from tests.cli.test_verify_links import verdict_of_stdout

__all__ = ["net", "node_url"]  # the fixtures: a node holding one diploma

HOSTILE = "http://127.0.0.9:1"  # the node the link opens; never asked


async def test_a_file_holding_a_link_is_checked_as_the_link(node_url: str,
                                                            tmp_path: Path) -> None:
    diploma = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    link = share_link(diploma, HOSTILE, compressed=True)
    saved, wrapped = tmp_path / "link.txt", tmp_path / "wrapped.txt"
    saved.write_text(link + "\n", "utf-8")
    # as a mail client breaks a long link over lines, and quoted in «…»
    wrapped.write_text("«" + "\n".join(link[at:at + 70] for at in range(0, len(link), 70))
                       + "».\n", "utf-8")
    notepad = tmp_path / "notepad.txt"  # saved as Notepad's "Unicode"
    notepad.write_text(link, "utf-16")
    genesis = str(tmp_path / "genesis.json")
    for path in (saved, wrapped, notepad):
        judged = await senim("verify", str(path), "--node", node_url, "--genesis", genesis,
                             "--json")
        assert judged.exit_code == 0, judged.output
        verdict = verdict_of_stdout(judged)
        assert verdict["valid"] and verdict["file"] == f"the document in a link to {HOSTILE}"
        # what was checked is said: on stderr, stdout staying the verdict's JSON alone
        read_from = catalogue("en")["cli.link.read_from_file"].format(file=path)
        assert judged.stderr.splitlines() == [read_from], judged.stderr
        said = await senim("verify", str(path), "--node", node_url, "--lang", "ru")
        assert said.exit_code == 0 and said.output.startswith("Подлинный диплом"), said.output
        assert catalogue("ru")["cli.link.read_from_file"].format(file=path) in said.output
    # A letter with no link in it is still a file checked as an anchored document.
    plain = tmp_path / "plain.txt"
    plain.write_text("Здравствуйте! Диплом во вложении.\n", "utf-8")
    judged = await senim("verify", str(plain), "--node", node_url, "--json")
    assert judged.exit_code == 1 and verdict_of(judged)["status"] == "unknown", judged.output


async def test_a_text_mentioning_a_url_is_checked_as_the_file_it_is(node_url: str,
                                                                    tmp_path: Path) -> None:
    """An order citing a web page is an anchored document like any other: it was refused,
    "the link … carries no document" (exit 2), and no node asked."""
    order = tmp_path / "syllabus.txt"
    order.write_text("Приказ №112 о выпуске\nСм. https://enu.kz/docs/prikaz-112 для "
                     "деталей.\nРектор\n", "utf-8")
    for text in (order.read_text("utf-8"), "https://enu.kz/docs/prikaz-112\n"):
        order.write_text(text, "utf-8")
        judged = await senim("verify", str(order), "--node", node_url, "--json")
        assert judged.exit_code == 1, judged.output
        verdict = verdict_of(judged)
        assert verdict["status"] == "unknown" and verdict["file"] == str(order), verdict


async def test_a_letter_with_a_genuine_link_under_its_words_is_not_the_link(
        node_url: str, tmp_path: Path) -> None:
    """A forged reference letter with a genuine diploma's link pasted in was VALID (exit 0)
    about the diploma, and nothing said the letter's own words went unchecked. A text with
    words around a link is checked as the file it is; the link is checked given alone."""
    diploma = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    link = share_link(diploma, HOSTILE, compressed=True)
    letters = [
        ("Reference letter. I certify that Ivan Forged graduated with first-class honours\n"
         f"and is recommended without reservation. -- Rector\n\nHis diploma: {link}\n\n"
         "Regards, Rector\n"),
        f"Здравствуйте! Мой диплом:\n{link}\n\nС уважением,\nАнна\n",
        f"{link}\n\nС уважением, Анна\n",  # a sign-off after a blank line
        f"{link} — мой диплом\n",
    ]
    for at, text in enumerate(letters):
        letter = tmp_path / f"letter{at}.txt"
        letter.write_text(text, "utf-8")
        judged = await senim("verify", str(letter), "--node", node_url, "--json")
        assert judged.exit_code == 1, (text, judged.output)
        verdict = verdict_of(judged)
        assert not verdict["valid"] and verdict["file"] == str(letter), (text, verdict)
        assert verdict["status"] == "unknown", (text, verdict)


async def test_a_credential_naming_a_link_in_a_field_is_checked_as_itself(
        node_url: str, tmp_path: Path) -> None:
    """A credential file is JSON: whatever text its fields hold, it is checked itself."""
    diploma = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    other = share_link({"format": "x"}, HOSTILE)
    diploma["note"] = other  # outside the fields: no part of what the issuer signed
    path = tmp_path / "noted.json"
    path.write_text(json.dumps(diploma), "utf-8")
    judged = await senim("verify", str(path), "--node", node_url, "--json")
    assert judged.exit_code == 0, judged.output
    assert verdict_of(judged)["file"] == str(path)
