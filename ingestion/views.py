"""HTTP endpoints for senders (not people): thin wrappers over ingestion.services.fhir_http."""

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ingestion.services.fhir_http import FHIR_JSON, FHIR_XML, FhirAnswer, fhir_request_handle, to_xml


def _render(answer: FhirAnswer) -> HttpResponse:
    if answer.as_xml:
        response = HttpResponse(to_xml(answer.resource), status=answer.status, content_type=FHIR_XML)
    else:
        body = json.dumps(answer.resource, separators=(",", ":"))
        response = HttpResponse(body, status=answer.status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for name, value in answer.headers.items():
        response[name] = value
    return response


# A machine sends with a bearer token, not a browser with a session: there is no cookie for CSRF to protect.
@csrf_exempt
def fhir_bundle_receive(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(
            FhirAnswer(
                405,
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "not-supported",
                            "diagnostics": "POST a FHIR Bundle here",
                        }
                    ],
                },
                headers={"Allow": "POST"},
            )
        )
    answer = fhir_request_handle(
        authorization=request.headers.get("Authorization", ""),
        content_type=request.META.get("CONTENT_TYPE", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        read=request.read,
        peer=request.META.get("REMOTE_ADDR", ""),
        accept=request.headers.get("Accept", ""),
    )
    return _render(answer)
