"""FHIR R4 validation of stored resources.

fhir.resources 8.x ships R5 (default), R4B and STU3 models and no R4 package. We validate with its R4B
models: R4B (4.3) kept R4's resources for everything the record holds, and its pydantic 2 models are fast
enough to validate every resource on ingestion (about 90 µs each). See docs/decisions/0002-fhir-models.md.
"""

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError


@dataclass(frozen=True)
class FhirIssue:
    """One problem, located as FHIRPath-ish `Observation.code.coding[0].system`."""

    location: str
    message: str


class InvalidFhirResource(ValueError):
    def __init__(self, resource_type: str, issues: list[FhirIssue]):
        self.resource_type = resource_type
        self.issues = issues
        super().__init__("; ".join(f"{issue.location}: {issue.message}" for issue in issues))


def _location(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("__root__", "root"):
            path += f".{part}"
    return path


def validate_resource(resource: dict[str, Any]) -> None:
    """Raise InvalidFhirResource, naming each element at fault, unless `resource` is valid FHIR."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str) or not resource_type:
        raise InvalidFhirResource("Resource", [FhirIssue("Resource.resourceType", "is missing")])
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError) as exc:
        raise InvalidFhirResource(
            resource_type, [FhirIssue(resource_type, "is not a FHIR resource type")]
        ) from exc
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        issues = [FhirIssue(_location(resource_type, error["loc"]), error["msg"]) for error in exc.errors()]
        raise InvalidFhirResource(resource_type, issues) from exc
    except (KeyError, TypeError, ValueError) as exc:
        # fhir.resources raises these for a contained resource of an unknown type, among others.
        raise InvalidFhirResource(
            resource_type, [FhirIssue(resource_type, f"cannot be read: {exc}")]
        ) from exc


def is_valid_resource(resource: dict[str, Any]) -> bool:
    try:
        validate_resource(resource)
    except InvalidFhirResource:
        return False
    return True
