"""A real node with real credentials, and a headless Chromium to look at its portal.

The browser tests need Debian's `chromium` and `chromium-driver`; without them
they are skipped with a reason (scripts/test says so loudly).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.credentials import make_batch
from tests.e2e.harness import Consortium, Member, NodeProcess
from tests.node.conftest import documents_of

MINISTRY = "Ministry of Science and Higher Education"
KAZNU = "Al-Farabi Kazakh National University"
REVOCATION_REASON = "issued_in_error"  # a code; the page says it in words
GRADUATES = [
    {"full_name": "Әлия Сәрсенбаева", "iin": "010630612347", "birth_date": "2001-06-30",
     "programme_code": "6B06102", "programme": "Computer Science",
     "qualification": "Bachelor of Engineering and Technology",
     "graduation_date": "2026-06-30", "gpa": "3.71", "honours": "with honours"},
    {"full_name": "Nurlan Seitkali", "iin": "020115512342", "birth_date": "2002-01-15",
     "programme_code": "6B02301", "programme": "Philology: Kazakh Language",
     "qualification": "Bachelor of Humanities", "graduation_date": "2026-06-30",
     "gpa": "3.05", "honours": ""},
    {"full_name": "Dana Omarova", "iin": "011203612348", "birth_date": "2001-12-03",
     "programme_code": "6B04101", "programme": "International Law",
     "qualification": "Bachelor of Law", "graduation_date": "2026-06-30", "gpa": "3.40",
     "honours": ""},
]
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)


def _first_on_path(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _first_on_path(CHROMIUM_CANDIDATES)
CHROMEDRIVER = _first_on_path(DRIVER_CANDIDATES)
BROWSER_MISSING = ("browser tests need chromium and chromedriver "
                   "(apt-get install chromium chromium-driver); "
                   f"found chromium={CHROMIUM}, chromedriver={CHROMEDRIVER}")


@dataclass
class Credentials:
    net: Consortium
    node: NodeProcess
    valid: Path       # Әлия's diploma, all fields shown
    revoked: Path     # Nurlan's diploma, revoked by the university
    revoked_vc: Path  # its W3C VC, exported before the revocation (export-vc signs no
    #                   credential its node finds revoked)
    disclosed: Path   # Dana's diploma with IIN and birth date hidden
    tampered: Path    # Әлия's diploma with a better GPA written in
    foreign: Path     # Әлия's diploma as if from another network
    screenshots: Path

    def document(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Screenshots land in $SENIM_SCREENSHOTS or a fresh temporary directory."""
    configured = os.environ.get("SENIM_SCREENSHOTS")
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="senim-portal-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# One node and one browser for every module of this package (each module started its own:
# 12-26 s apiece on a loaded machine). The modules only read what the fixture issued, or add
# records of their own (another credential type, an exported VC), and each test undoes what
# it does to the node or the browser (a SIGSTOP, a time zone, a phone's viewport) and opens
# the page afresh, so no module needs a node or a browser to itself.
@pytest.fixture(scope="package")
def credentials(tmp_path_factory: pytest.TempPathFactory,
                screenshot_dir: Path) -> Iterator[Credentials]:
    root = tmp_path_factory.mktemp("portal")
    members = [Member("mshe", MINISTRY, "ministry", validator=True, runs_node=True),
               Member("kaznu", KAZNU, "university")]
    with Consortium(root, members) as net:
        node = net.start("mshe")
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("kaznu"), "--types", "diploma", node=node)
        table = root / "graduates.csv"
        with table.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(GRADUATES[0]))
            writer.writeheader()
            writer.writerows(GRADUATES)
        out = root / "issued"
        net.cli("issue", "--key", str(net.key_path("kaznu")), "--type", "diploma",
                "--input", str(table), "--out", str(out), node=node)
        files = {json.loads(p.read_text(encoding="utf-8"))["fields"]["full_name"]["value"]: p
                 for p in out.rglob("diploma-*.json")}
        valid, revoked, dana = (files[g["full_name"]] for g in GRADUATES)
        revoked_vc = root / "revoked.vc.json"
        net.cli("export-vc", str(revoked), "--key", str(net.key_path("kaznu")), "--out",
                str(revoked_vc), node=node)
        net.cli("revoke", "--key", str(net.key_path("kaznu")), str(revoked),
                "--reason", REVOCATION_REASON, node=node)
        disclosed = root / "dana-shared.json"
        net.cli("disclose", str(dana), "--hide", "iin,birth_date", "--out", str(disclosed))
        document = json.loads(valid.read_text(encoding="utf-8"))
        document["fields"]["gpa"]["value"] = "4.00"
        tampered = root / "tampered.json"
        tampered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        # Issued with the same values on another network: genuine there, so unknown here.
        # (The valid copy with its chain id edited is tampered: its hash covers the network.)
        document = json.loads(valid.read_text(encoding="utf-8"))
        elsewhere = make_batch([{name: field["value"] for name, field in
                                 document["fields"].items()}], document["type"],
                               "another-network", bytes.fromhex(document["issuer"]["member_id"]),
                               document["issuer"]["name"])
        foreign = root / "foreign.json"
        foreign.write_text(json.dumps(documents_of(elsewhere)[0], ensure_ascii=False),
                           encoding="utf-8")
        yield Credentials(net, node, valid, revoked, revoked_vc, disclosed, tampered,
                          foreign, screenshot_dir)
        node.stop()


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(BROWSER_MISSING)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    # The page says times in the browser's zone: UTC here, whatever the machine's, so that
    # tests reading a day from the node's UTC times agree with it (test_portal_times.py
    # sets other zones itself).
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TZ": "UTC"})
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
