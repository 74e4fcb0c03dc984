"""The VC-API's verification answers, real ones, against what /openapi.json declares for
them. The verdict beside a result was declared "an object": a client generating its types
from the description learnt nothing of a presentation's facts (who signed it, whether
the challenge and domain were checked), of each credential's own verdict, or of the
warning codes (challenge_not_checked among them). Each answer here must fit its declared
schema, and every member of its verdict must be declared, except in an object the
description says on purpose is open (a credential's chain facts)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jsonschema_rs

import ledger.vc.presentation
from ledger.payloads import CredentialRef, RevokePayload
from ledger.vc.presentation import MAX_CREDENTIALS_PER_PRESENTATION, MISMATCH_PROBLEMS
from ledger.vc.verify import CREDENTIAL_MISMATCH_PROBLEMS
from storage.batch_tree import audit_path
from tests.node.conftest import make_tx
from tests.node.test_api import wait_committed
from tests.vc.conftest import JSON_BODY, VcNode
from tests.vc.test_vc_api import exported
from tests.vc.test_vc_api_presentations import STRANGER, presentation

Schema = dict[str, Any]


def declared_schema(spec: Schema, path: str, status: int) -> Schema:
    schema: Schema = spec["paths"][path]["post"]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    return schema


def resolved(spec: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        target: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def undeclared(spec: Schema, value: Any, schema: Schema, where: str) -> list[str]:
    """Where `value` holds an object member its schema does not declare: an object is
    declared by its properties, or open on purpose by additionalProperties; in a
    oneOf/anyOf, by the alternative that declares the most of it."""
    schema = resolved(spec, schema)
    choices = schema.get("oneOf") or schema.get("anyOf")
    if choices:
        return min((undeclared(spec, value, choice, where) for choice in choices), key=len)
    if isinstance(value, list):
        items = schema.get("items")
        return [] if items is None else [found for n, item in enumerate(value)
                                         for found in undeclared(spec, item, items,
                                                                 f"{where}[{n}]")]
    if not isinstance(value, dict):
        return []
    members = schema.get("properties")
    if members is None:
        return [] if "additionalProperties" in schema else [where]
    missing = []
    for name, member in value.items():
        if name in members:
            missing += undeclared(spec, member, members[name], f"{where}.{name}")
        elif "additionalProperties" not in schema:
            missing.append(f"{where}.{name}")
    return missing


async def check_against_spec(node: VcNode, spec: Schema, path: str, body: Any,
                             status: int) -> Any:
    response = await node.client.post(path, json=body, headers=JSON_BODY)
    answer = await response.json()
    assert response.status == status, answer
    schema = declared_schema(spec, path, status)
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(answer)]
    assert not errors, (path, status, errors, answer)
    assert undeclared(spec, answer, schema, "answer") == [], (path, status, answer)
    return answer


async def revoke(node: VcNode, index: int) -> None:
    targets = node.batch.target_hashes
    tx = make_tx(node.net.university, RevokePayload(CredentialRef(
        node.batch.root, targets[index], index, tuple(audit_path(targets, index))), "fraud"))
    response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    assert response.status == 202, await response.text()
    await wait_committed(node, tx.tx_id.hex())  # type: ignore[arg-type]


async def test_presentation_answers_fit_the_declared_schema(node: VcNode) -> None:
    spec = await (await node.client.get("/openapi.json")).json()
    valid, revoked = exported(node, 0), exported(node, 2)
    await revoke(node, 2)
    path = "/presentations/verify"
    both = presentation([valid, revoked], domain="hr.example.kz")
    one = presentation([valid], domain="hr.example.kz")
    too_many = presentation([valid])
    too_many["verifiableCredential"] = [valid] * (MAX_CREDENTIALS_PER_PRESENTATION + 1)
    asked = {"challenge": "c-1", "domain": "hr.example.kz"}
    for body, status in (
            ({"verifiablePresentation": one, "options": asked}, 200),
            ({"verifiablePresentation": one}, 200),  # no challenge: challenge_not_checked
            ({"verifiablePresentation": both, "options": asked}, 400),  # one revoked
            ({"verifiablePresentation": one, "options": {"challenge": "c-2"}}, 400),
            ({"verifiablePresentation": one, "options": {"domain": "other.kz"}}, 400),
            ({"verifiablePresentation": one,
              "options": {"challenge": "c-2", "domain": "other.kz"}}, 400),
            ({"verifiablePresentation": presentation([valid], signer=STRANGER)}, 400),
            ({"verifiablePresentation": too_many}, 400),
            ({"verifiablePresentation": presentation([])}, 200),
            ({"verifiablePresentation": {"type": "VerifiablePresentation"}}, 400),
            ({"verifiablePresentation": []}, 400)):
        await check_against_spec(node, spec, path, body, status)
    # The answers the schema now names: each credential's verdict, the challenge's and
    # domain's checks, and the warning that none was checked.
    answer = await check_against_spec(node, spec, path, {"verifiablePresentation": both}, 400)
    verdict = answer["verdict"]
    assert [c["status"] for c in verdict["credentials"]] == ["valid", "revoked"], verdict
    assert verdict["facts"]["challenge"] == "not_checked", verdict
    assert verdict["warning_codes"][0] == "challenge_not_checked", verdict
    facts = declared_schema(spec, path, 200)["properties"]["verdict"]["properties"]["facts"]
    assert facts["properties"]["challenge"]["enum"] == ["checked", "not_checked", "mismatch"]
    mismatch = await check_against_spec(
        node, spec, path, {"verifiablePresentation": one, "options": {"challenge": "c-2"}}, 400)
    assert mismatch["verdict"]["facts"]["challenge"] == "mismatch", mismatch
    # The failed check's code, declared: a generated client reads which one failed.
    assert [c.get("problem") for c in mismatch["verdict"]["checks"]] == [
        None, None, "vp_challenge_mismatch"], mismatch
    verdict_schema = declared_schema(spec, path, 400)["oneOf"][0]["properties"]["verdict"]
    assert set(MISMATCH_PROBLEMS.values()) <= listed_problems(verdict_schema), verdict_schema
    # node.openapi writes the others out: one renamed in the ledger must be renamed there
    codes = presentation_codes()
    assert set(MISMATCH_PROBLEMS.values()) < codes, codes  # the source was read
    assert codes <= listed_problems(verdict_schema), (codes, verdict_schema)
    # A credential inside it is checked as one alone: none of the presentation's codes.
    held = verdict_schema["properties"]["credentials"]["items"]
    assert listed_problems(held) == set(), held


def presentation_codes() -> set[str]:
    """The `vp_` codes ledger.vc.presentation gives a failed check, read from its source
    (each InvalidDocument's and Check's literal), except refuse_empty's: an employer's
    tools refuse an empty presentation, the VC-API does not."""
    tree = ast.parse(Path(ledger.vc.presentation.__file__).read_text("utf-8"))
    codes: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or function.name == "refuse_empty":
            continue
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in ("InvalidDocument", "Check")):
                continue
            given = [*call.args, *(keyword.value for keyword in call.keywords)]
            codes |= {arg.value for arg in given if isinstance(arg, ast.Constant)
                      and isinstance(arg.value, str) and arg.value.startswith("vp_")}
    return codes


def listed_problems(verdict: Schema) -> set[str]:
    """The problem codes a verdict's schema lists for its failed checks by name."""
    problem = verdict["properties"]["checks"]["items"]["properties"]["problem"]
    return {code for choice in problem.get("anyOf", []) for code in choice.get("enum", [])}


async def test_credential_answers_fit_the_declared_schema(node: VcNode) -> None:
    spec = await (await node.client.get("/openapi.json")).json()
    vc = exported(node, 1)
    altered = exported(node, 1)
    altered["credentialSubject"]["fields"]["degree"] = "PhD"
    foreign = exported(node, 1)
    foreign["proof"]["proofValue"] = "z" + "1" * 80
    unsigned = exported(node, 1)
    del unsigned["proof"]
    for body, status in (({"verifiableCredential": vc}, 200),
                         ({"verifiableCredential": altered}, 400),
                         ({"verifiableCredential": foreign}, 400),
                         ({"verifiableCredential": unsigned}, 400),  # a check's own code
                         ({"verifiableCredential": vc, "options": {"challenge": "c-9"}}, 400),
                         ({"verifiableCredential": 5}, 400)):
        await check_against_spec(node, spec, "/credentials/verify", body, status)
    # The schema served both endpoints, listing a presentation's codes for a credential's
    # checks, which never carry them; a credential's own mismatches are listed instead.
    verdict = declared_schema(spec, "/credentials/verify", 400)["oneOf"][0]["properties"][
        "verdict"]
    assert listed_problems(verdict) == set(CREDENTIAL_MISMATCH_PROBLEMS.values()), verdict
