"""Start a one-validator Senim network whose node issues and verifies over the VC-API
(HTTP and HTTPS with a self-signed certificate), point the W3C suites at it, run
them and print each suite's pass/fail counts. Called by scripts/w3c-suites."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.vc.didkey import did_key
from node.config import render_config
from tests.e2e.harness import HOST, Consortium, Member, free_port

SUITES = ("vc-data-model-2.0-test-suite", "vc-di-eddsa-test-suite",
          "vc-bitstring-status-list-test-suite")
SUITE_TIMEOUT_S = 1800
# The tags each suite filters implementations by; a Senim node has all of them.
TAGS = ["vc2.0", "VC-API", "eddsa-rdfc-2022", "BitstringStatusList", "Senim"]
SUMMARY = re.compile(r"^\s*(\d+) (passing|failing|pending)", re.MULTILINE)


def start_node(root: Path) -> tuple[Consortium, str, str, Path]:
    members = [Member("mshe", "Ministry of Science and Higher Education", "ministry",
                      validator=True, runs_node=True),
               Member("kaznu", "Al-Farabi Kazakh National University", "university")]
    net = Consortium(root, members)
    mshe = net.node("mshe")
    https_port = free_port()
    cert, key = root / "tls" / "node.crt", root / "tls" / "node.key"
    cert.parent.mkdir(mode=0o700)
    net.cli("tls-cert", "--cert", str(cert), "--key", str(key), "--host", HOST)
    token = secrets.token_urlsafe(32)
    token_file = root / "issue.token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    https_url = f"https://{HOST}:{https_port}"
    mshe.config_path.write_text(render_config(
        "mshe", "keys/mshe.key", "genesis.json", "data/mshe", f"{HOST}:{mshe.api_port}",
        f"{HOST}:{mshe.p2p_port}", [], overrides={
            "consensus": {"view_timeout_ms": net.view_timeout_ms},
            "vc": {"issuer_key": "keys/kaznu.key", "issue_token_file": "issue.token",
                   "public_url": https_url, "https_listen": f"{HOST}:{https_port}",
                   "tls_cert": str(cert), "tls_key": str(key)}}))
    try:
        node = net.start("mshe")
        # The node's VC-API issuing anchors each credential on chain as a certificate batch.
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("kaznu"), "--types", "certificate", node=node)
    except BaseException:
        net.close()
        raise
    return net, https_url, token, cert


def implementations(base: str, token: str, issuer_did: str) -> dict[str, object]:
    def endpoint(path: str, **extra: object) -> dict[str, object]:
        return {"endpoint": base + path, "tags": TAGS, **extra}
    issuer = endpoint("/credentials/issue", id=issuer_did,
                      headers={"Authorization": f"Bearer {token}"},
                      options={"credentialStatus": {"type": "BitstringStatusListEntry"}})
    return {"implementations": [{
        "name": "Senim", "implementation": "Senim node",
        "issuers": [issuer], "verifiers": [endpoint("/credentials/verify")],
        "vpVerifiers": [endpoint("/presentations/verify")]}]}


def run_suite(path: Path, config: Path, cert: Path, log: Path) -> dict[str, int]:
    env = {**os.environ, "VC_TEST_IMPLEMENTATIONS": str(config),
           "NODE_EXTRA_CA_CERTS": str(cert), "LOCAL_ONLY": "true"}
    with log.open("w") as out:
        subprocess.run(["npx", "mocha", "tests/", "--timeout", "15000", "--preserve-symlinks",
                        "--reporter", "spec"], cwd=path, env=env, stdout=out,
                       stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT_S, check=False)
    found = SUMMARY.findall(log.read_text())
    if not found:
        return {}  # mocha stopped before running a test (a broken checkout): see the log
    counts = {kind: int(n) for n, kind in found}
    return {kind: counts.get(kind, 0) for kind in ("passing", "failing", "pending")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkouts", type=Path, help="directory holding the suites")
    parser.add_argument("suites", nargs="*", default=list(SUITES))
    args = parser.parse_args()
    if shutil.which("npx") is None:
        print("w3c-suites: needs Node.js and npm (npx) on PATH", file=sys.stderr)
        return 2
    missing = [s for s in args.suites if not (args.checkouts / s / "node_modules").is_dir()]
    if missing:
        print(f"w3c-suites: not installed (run npm install there): {', '.join(missing)}",
              file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="senim-w3c-"))
    net, base, token, cert = start_node(root)
    try:
        issuer_did = did_key(net.keys("kaznu").public_key)
        config = root / "implementations.json"
        config.write_text(json.dumps(implementations(base, token, issuer_did), indent=2))
        failed = False
        for suite in args.suites:
            log = root / f"{suite}.log"
            counts = run_suite(args.checkouts / suite, config, cert, log)
            if not counts:
                failed = True
                print(f"{suite}: did not run (log: {log})")
                continue
            failed |= counts["failing"] > 0 or counts["passing"] == 0
            print(f"{suite}: {counts['passing']} passing, {counts['failing']} failing, "
                  f"{counts['pending']} pending  (log: {log})")
    finally:
        net.close()
    print(f"node directory and logs: {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
