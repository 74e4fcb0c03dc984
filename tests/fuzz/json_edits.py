"""Structure-aware input for the JSON decoders: fuzz bytes as a script of edits.

Byte mutation of JSON text mostly yields text that is not JSON, which the parser
refuses before any decoder runs. So a JSON target reads its input two ways: as
JSON text when it parses, and otherwise as a script of edits (replace a value,
delete or add a key, duplicate a list entry) applied to a valid document. The
edits reach every field with wrong types, huge numbers and lone surrogates, and
libFuzzer still steers them by coverage, since the script is its bytes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import atheris

MAX_EDITS = 4
MAX_DEPTH = 8
ODD_TEXT = ["", "\ud800", "a\udfff", "\x00", "did:key:z6Mk", "https://x", "00" * 32,
            "2030-01-01T00:00:00Z", "diploma", "senim-credential/v1", "-1", "1e400"]
ODD_NUMBERS = [0, -1, 1, 2**63, 2**64 + 1, -(2**70), 10**400]


def parse(data: bytes, documents: list[Any]) -> tuple[bool, Any]:
    """(True, document) for the input's meaning; (False, None) when it has none."""
    try:
        return True, json.loads(data)
    except ValueError:
        pass
    if not documents or len(data) < 2:
        return False, None
    provider = atheris.FuzzedDataProvider(data)
    document = copy.deepcopy(documents[provider.ConsumeIntInRange(0, len(documents) - 1)])
    for _ in range(provider.ConsumeIntInRange(1, MAX_EDITS)):
        document = _edit(document, provider, 0)
    return True, document


def _value(provider: atheris.FuzzedDataProvider) -> Any:
    choice = provider.ConsumeIntInRange(0, 9)
    if choice == 0:
        return None
    if choice == 1:
        return provider.ConsumeBool()
    if choice == 2:
        return provider.PickValueInList(ODD_NUMBERS)
    if choice == 3:
        return provider.ConsumeInt(8)
    if choice == 4:
        return provider.ConsumeFloat()
    if choice == 5:
        return provider.PickValueInList(ODD_TEXT)
    if choice == 6:
        return provider.ConsumeUnicode(40)
    if choice == 7:
        return [provider.PickValueInList(ODD_TEXT)]
    if choice == 8:
        return {provider.PickValueInList(ODD_TEXT): None}
    return provider.ConsumeBytes(8).hex()


def _edit(node: Any, provider: atheris.FuzzedDataProvider, depth: int) -> Any:
    """Descend to a node chosen by the script and change it."""
    descend = depth < MAX_DEPTH and provider.ConsumeIntInRange(0, 3) != 0
    if isinstance(node, dict) and node:
        keys = list(node)
        key = keys[provider.ConsumeIntInRange(0, len(keys) - 1)]
        action = provider.ConsumeIntInRange(0, 3) if not descend else 0
        if action == 0:
            node[key] = _edit(node[key], provider, depth + 1)
        elif action == 1:
            del node[key]
        elif action == 2:
            node[provider.ConsumeUnicode(12)] = _value(provider)
        else:
            node[key] = _value(provider)
        return node
    if isinstance(node, list) and node:
        index = provider.ConsumeIntInRange(0, len(node) - 1)
        action = provider.ConsumeIntInRange(0, 2) if not descend else 0
        if action == 0:
            node[index] = _edit(node[index], provider, depth + 1)
        elif action == 1:
            node.append(copy.deepcopy(node[index]))
        else:
            del node[index]
        return node
    return _value(provider)
