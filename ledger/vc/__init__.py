"""W3C Verifiable Credentials 2.0 for Senim: pure, like the rest of `ledger`.

- `canon`: RDFC-1.0 canonical N-Quads (PyLD) with a document loader that serves
  only the JSON-LD contexts bundled in `contexts/` (nothing is fetched);
- `didkey`: `did:key` identifiers for Ed25519 member keys;
- `proofs`: Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite;
- `status`: Bitstring Status List encoding and status list credentials;
- `export`: a native Senim credential as a VC 2.0;
- `anchored`: any VC the node issues, anchored on chain as a one-field Senim credential;
- `verify`: any VC 2.0 or presentation with such a proof, plus the Senim chain checks.

Times come in from the caller; no IO but reading the bundled context files.
"""
