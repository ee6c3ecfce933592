"""FHIR R4 (JSON, XML, NDJSON) → the canonical dataclasses of ingestion.canonical. Pure: no ORM.

The pipeline calls `FhirReader` (streaming) or `parse_fhir` (all at once), and answers the sender with
the OperationOutcome either gives.
"""

from ingestion.fhir.outcome import FhirInputError, Issue, IssueCode, Severity, operation_outcome
from ingestion.fhir.parse import BundleEntry, iter_bundle_entries
from ingestion.fhir.reader import FhirReader, FhirResult, parse_fhir
from ingestion.fhir.sensitivity import SENSITIVE_SNOMED_CODES, sensitivity_of
from ingestion.fhir.xml import xml_to_json

__all__ = [
    "SENSITIVE_SNOMED_CODES",
    "BundleEntry",
    "FhirInputError",
    "FhirReader",
    "FhirResult",
    "Issue",
    "IssueCode",
    "Severity",
    "iter_bundle_entries",
    "operation_outcome",
    "parse_fhir",
    "sensitivity_of",
    "xml_to_json",
]
