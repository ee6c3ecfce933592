"""Problems found in a FHIR body, and the OperationOutcome that reports them to the sender."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ingestion.canonical import MappingError


class Severity(enum.StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class IssueCode(enum.StrEnum):
    """The subset of FHIR IssueType codes this parser reports."""

    INVALID = "invalid"
    STRUCTURE = "structure"
    REQUIRED = "required"
    VALUE = "value"
    NOT_SUPPORTED = "not-supported"
    NOT_FOUND = "not-found"
    PROCESSING = "processing"
    INFORMATIONAL = "informational"


@dataclass(frozen=True)
class Issue:
    """One problem. `entry` is the 0-based Bundle entry (or NDJSON line) it belongs to, if any.

    `element` is the FHIRPath-like element at fault, starting with the resource type, e.g.
    `Observation.status`; the OperationOutcome expression adds the entry, e.g.
    `Bundle.entry[3].resource.ofType(Observation).status`.
    """

    severity: Severity
    code: IssueCode
    diagnostics: str
    element: str = ""
    entry: int | None = None
    in_bundle: bool = True

    @property
    def is_error(self) -> bool:
        return self.severity in (Severity.ERROR, Severity.FATAL)

    @property
    def resource_type(self) -> str:
        return self.element.split(".", 1)[0]

    @property
    def expression(self) -> str:
        if self.entry is None or not self.in_bundle:
            return self.element
        base = f"Bundle.entry[{self.entry}]"
        if not self.element:
            return base
        if self.element.startswith("Bundle.entry."):
            # A problem with the entry itself (its request, its missing resource), not its resource.
            return base + self.element.removeprefix("Bundle.entry")
        resource_type, _, path = self.element.partition(".")
        expression = f"{base}.resource.ofType({resource_type})"
        return f"{expression}.{path}" if path else expression

    def as_text(self) -> str:
        where = ""
        if self.entry is not None:
            where = f"entry {self.entry}: " if self.in_bundle else f"line {self.entry + 1}: "
        element = f"{self.element}: " if self.element else ""
        return f"{where}{element}{self.diagnostics}"

    def as_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": str(self.severity),
            "code": str(self.code),
            "diagnostics": self.as_text(),
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def error(code: IssueCode, diagnostics: str, element: str = "", entry: int | None = None) -> Issue:
    return Issue(Severity.ERROR, code, diagnostics, element=element, entry=entry)


def warning(code: IssueCode, diagnostics: str, element: str = "", entry: int | None = None) -> Issue:
    return Issue(Severity.WARNING, code, diagnostics, element=element, entry=entry)


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """The FHIR R4 OperationOutcome for these issues; with none, the single "all OK" issue FHIR requires."""
    listed = [issue.as_fhir() for issue in issues]
    if not listed:
        listed = [{"severity": "information", "code": "informational", "diagnostics": "All OK"}]
    return {"resourceType": "OperationOutcome", "issue": listed}


class FhirInputError(MappingError):
    """The body as a whole cannot be read: not JSON/XML, wrong content type, DOCTYPE, not a resource."""

    def __init__(self, issue: Issue):
        self.issue = issue
        super().__init__(issue.diagnostics, location=issue.element)
