"""Registrar exports: CSV, Excel and JSON files from a university's or school's
records system, read, mapped onto a credential type's schema and validated.

This package knows nothing of the chain; it imports only the standard library,
openpyxl and charset-normalizer.
"""

from registrar.export import ExportResult, SourceInfo, read_export
from registrar.mapping import Mapping, load_mapping
from registrar.phrases import Phrase
from registrar.preview import ShownRecord, preview_said, titles_read_past, titles_said
from registrar.problems import Problem
from registrar.schema import Schema, SchemaError, load_schema

__all__ = ["ExportResult", "Mapping", "Phrase", "Problem", "Schema", "SchemaError",
           "ShownRecord", "SourceInfo", "load_mapping", "load_schema",
           "preview_said", "read_export", "titles_read_past", "titles_said"]
