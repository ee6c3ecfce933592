"""records.fhir.validate_resource, with its findings turned into issue codes and nothing escaping."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from ingestion.fhir.outcome import IssueCode
from records.fhir import InvalidFhirResource, validate_resource


def is_resource_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError):
        return False
    return name[:1].isupper()


def _code(message: str) -> IssueCode:
    lowered = message.lower()
    if "required" in lowered:
        return IssueCode.REQUIRED
    if "extra inputs" in lowered or "valid list" in lowered or "expected from the instance" in lowered:
        return IssueCode.STRUCTURE
    return IssueCode.VALUE


def validation_issues(resource: dict[str, Any]) -> list[tuple[IssueCode, str, str]]:
    """(code, element, message) per problem; empty when the resource is valid FHIR R4 (R4B models)."""
    try:
        validate_resource(resource)
    except InvalidFhirResource as exc:
        return [
            (_code(issue.message), issue.location.removesuffix(".root"), issue.message)
            for issue in exc.issues
        ]
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        # fhir.resources raises these, not a ValidationError, for e.g. a contained resource of an
        # unknown or non-string resourceType.
        resource_type = str(resource.get("resourceType", "Resource"))
        return [(IssueCode.STRUCTURE, resource_type, f"cannot be validated ({type(exc).__name__}: {exc})")]
    return []
