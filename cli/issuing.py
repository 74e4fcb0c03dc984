"""`senim issue`: a registrar's export in, signed-off credential documents out."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from cli.client import DEFAULT_NODE, ClientError, NodeClient
from ledger.credentials import make_batch
from ledger.errors import ConfigError, InvalidDocument
from ledger.payloads import IssueBatchPayload
from ledger.transactions import CREDENTIAL_TYPES
from node.files import load_key

PROGRESS_FROM = 200  # below this a progress bar is noise


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every column of the export becomes a field; empty cells are left out."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InvalidDocument("a JSON input must be a list of objects, one per graduate")
        return data
    with path.open(newline="", encoding="utf-8-sig") as handle:  # Excel writes a BOM
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise InvalidDocument("the CSV has no header row")
        return [{k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
                for row in reader]


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


@click.command("issue")
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path))
@click.option("--type", "credential_type", required=True, type=click.Choice(CREDENTIAL_TYPES))
@click.option("--input", "input_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Registrar export: CSV (header row) or JSON list of objects.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              show_default=True)
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              help="Seconds to wait for the batch to commit.")
def issue_command(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
                  node_url: str, timeout_s: float) -> None:
    """Issue one credential per record, all in one batch transaction."""
    try:
        keys = load_key(key_path)
        records = read_records(input_path)
    except (ConfigError, InvalidDocument, ValueError, OSError) as exc:
        _fail(str(exc), 2)
    if not records:
        _fail(f"{input_path} holds no records", 2)
    client = NodeClient(node_url)
    try:
        status = client.status()
        issuer_name = next((m["name"] for m in client.request("GET", "/v1/members")["members"]
                            if m["member_id"] == keys.member_id.hex()), keys.member_id.hex())
    except ClientError as exc:
        _fail(str(exc))
    show = len(records) >= PROGRESS_FROM
    click.echo(f"hashing {len(records)} {credential_type} record(s) as {issuer_name}…")
    try:
        batch = make_batch(records, credential_type, status["chain_id"], keys.member_id,
                           issuer_name)
    except InvalidDocument as exc:
        _fail(str(exc), 2)
    tx = client.make_tx(keys, IssueBatchPayload(credential_type, batch.root,
                                                len(batch.target_hashes)))
    try:
        result = client.submit_and_wait(tx, timeout_s)
    except ClientError as exc:
        _fail(f"the node refused the batch: {exc} ({exc.code})")
    if result["status"] != "committed":
        _fail(f"batch not committed: {result.get('reason', result['status'])}")
    out_dir.mkdir(parents=True, exist_ok=True)
    issuance = {"tx_id": result["tx_id"], "height": result["height"],
                "block_hash": result["block_hash"], "time": result["time"]}
    width = max(5, len(str(len(batch.target_hashes))))
    for index, document in enumerate(tqdm(batch.documents(), desc="writing credentials",
                                          total=len(batch.target_hashes), unit="doc",
                                          disable=not show)):
        document["issuance"] = issuance
        name = f"{credential_type}-{index + 1:0{width}d}-{document['target_hash'][:8]}.json"
        (out_dir / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    manifest = {"batch_root": batch.root.hex(), "type": credential_type,
                "issuer": keys.member_id.hex(), "issuance": issuance,
                "target_hashes": [t.hex() for t in batch.target_hashes]}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    click.echo(f"issued {len(batch.target_hashes)} {credential_type}(s) in batch "
               f"{batch.root.hex()[:16]}… at height {result['height']}")
    click.echo(f"credential files: {out_dir}/ (manifest.json lists hashes only)")
