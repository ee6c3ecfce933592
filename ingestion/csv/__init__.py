"""Council social care CSV extracts → the canonical dataclasses. Pure: no ORM. Columns: spec.py."""

from ingestion.csv.parse import (
    CsvHeaderError,
    CsvIssue,
    CsvResult,
    CsvRow,
    iter_social_care_rows,
    parse_social_care_csv,
)
from ingestion.csv.spec import COLUMNS, PACKAGE_TYPES

__all__ = [
    "COLUMNS",
    "PACKAGE_TYPES",
    "CsvHeaderError",
    "CsvIssue",
    "CsvResult",
    "CsvRow",
    "iter_social_care_rows",
    "parse_social_care_csv",
]
