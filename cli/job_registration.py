"""A `senim issue` job's students recorded in the issuer's registry of issued students
(registrar.issued), read back from the job's own credential files.

A job's students are first recorded as pending, after its files are written and
before its manifest holds a transaction to send: another job naming them is then
refused by row until this one is finished (`--resume`), unless this one's folder
no longer holds a job or it is still preparing (its resume checks its rows again).
Once the job is marked committed, it is recorded again at its height.

Recording a job again changes nothing, so `senim issue --resume` on a committed job
also records it (that is how jobs from before the registry existed are added).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from cli.issuer_registry import remember_registry
from cli.job_folder import credential_path, save_manifest
from cli.spoken import Sentence, say
from registrar.issued import PENDING_HEIGHT, Entry, IssuedRegistry, registry_path_for


def _entries(job_dir: Path, manifest: dict[str, Any], targets: list[str],
             registry: IssuedRegistry) -> Iterator[Entry]:
    """One entry per unique field of each credential, read back from its file (one at
    a time), so the job folder alone decides what is recorded."""
    credential_type, per_dir = manifest["type"], int(manifest["files_per_dir"])
    for index, target_hex in enumerate(targets):
        path = credential_path(job_dir, credential_type, index, len(targets), target_hex,
                               per_dir)
        fields = json.loads(path.read_text(encoding="utf-8"))["fields"]
        for name in manifest.get("unique", ()):
            value = fields.get(name, {}).get("value")
            if isinstance(value, str):
                yield Entry(registry.digest(credential_type, name, value),
                            str(path.relative_to(job_dir)))


def _record(job_dir: Path, manifest: dict[str, Any], targets: list[str], batch_root: str,
            height: int) -> tuple[Path, int]:
    path = registry_path_for(job_dir, Path(manifest["reader"]["registry"])
                             if manifest.get("reader", {}).get("registry") else None)
    registry = IssuedRegistry.open(path, create=True)
    assert registry is not None
    with registry:
        registry.claim(manifest["issuer"])
        added = registry.record(_entries(job_dir, manifest, targets, registry),
                                chain_id=manifest["chain_id"],
                                credential_type=manifest["type"], job=job_dir.resolve(),
                                batch_root=batch_root, height=height)
    # Later jobs of this issuer find this registry wherever their folders are.
    trouble = remember_registry(Path(manifest["key"]), manifest["issuer"],
                                str(manifest.get("issuer_name", "")), path)
    if trouble:
        click.secho(say(Sentence("issue.warning", f"warning: {trouble}", why=trouble)),
                    fg="yellow", err=True)
    return path, added


def register_pending(job_dir: Path, manifest: dict[str, Any], target_hashes: list[bytes],
                     batch_root: bytes) -> None:
    """Record a job whose files are written, before it can be sent. Raises RegistryError
    or OSError."""
    _record(job_dir, manifest, [t.hex() for t in target_hashes], batch_root.hex(),
            PENDING_HEIGHT)


def register_job(job_dir: Path, manifest: dict[str, Any]) -> tuple[Path, int]:
    """Record a committed job in its registry (made if missing); returns the registry
    and how many entries were new. Raises RegistryError or OSError."""
    path, added = _record(job_dir, manifest, manifest["target_hashes"], manifest["batch_root"],
                          int(manifest["issuance"]["height"]))
    manifest["registered"] = str(path.resolve())
    save_manifest(job_dir, manifest)
    return path, added
