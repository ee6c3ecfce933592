"""FHIR XML to FHIR JSON, following the rules of https://hl7.org/fhir/R4/xml.html.

- The root element's name is the `resourceType`; so is the single child of `contained`,
  `Bundle.entry.resource` and any other element typed `Resource`.
- Primitives carry their value in a `value` attribute; it becomes a JSON string, number or boolean as
  the element's type says. An `id` attribute or `extension` children of a primitive go to `_name`.
- Elements that may repeat become arrays even when they occur once. Which ones may repeat, and every
  element's type, is read from the fhir.resources R4B models (a field annotated as a list repeats).
- `Extension.url` is an attribute; `Narrative.div` is XHTML and is kept as a string.

Parsing uses expat directly so that a DOCTYPE (and with it any entity declaration, the billion-laughs
attack, or an external entity) is refused before anything is expanded: FHIR XML never needs one.
defusedxml is not installed, so this is the safeguard.
"""

from __future__ import annotations

import decimal
import functools
import re
import typing
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pyexpat import ExpatError, ParserCreate
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.utils import import_string

from ingestion.fhir.outcome import FhirInputError, IssueCode, error

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"

_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class _Field:
    repeats: bool
    kind: str  # "primitive", "complex", "resource" or "xhtml"
    model: type | None = None
    python_type: type | None = None


def _unwrap(annotation: Any) -> tuple[bool, Any, tuple[Any, ...]]:
    """(repeats, inner type, Annotated metadata) of a model field annotation."""
    repeats = False
    metadata: tuple[Any, ...] = ()
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation, metadata = args[0], metadata + tuple(args[1:])
        elif origin in (list, typing.List):  # noqa: UP006 - the models use typing.List
            repeats, annotation = True, args[0]
        elif args and type(None) in args:
            annotation = next(arg for arg in args if arg is not type(None))
        else:
            return repeats, annotation, metadata


def _field(annotation: Any) -> _Field:
    repeats, inner, metadata = _unwrap(annotation)
    if any(type(item).__name__ == "Xhtml" for item in metadata):
        return _Field(repeats, "xhtml")
    klass = getattr(inner, "_model_klass", None)
    if klass is not None:
        model = import_string(klass) if isinstance(klass, str) else klass
        kind = "resource" if model.__name__ in ("Resource", "DomainResource") else "complex"
        return _Field(repeats, kind, model=model)
    return _Field(repeats, "primitive", python_type=inner if isinstance(inner, type) else str)


@functools.cache
def _fields(model: type) -> dict[str, _Field]:
    fields: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias.startswith("_") or name == "fhir_comments":
            continue
        fields[alias] = _field(info.annotation)
    return fields


def _structure(message: str, element: str) -> FhirInputError:
    return FhirInputError(error(IssueCode.STRUCTURE, message, element=element))


def _parse(data: bytes | str) -> ET.Element:
    if isinstance(data, str):
        data = data.encode("utf-8")
    builder = ET.TreeBuilder()
    parser = ParserCreate(namespace_separator="}")

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def refuse(*_: Any) -> None:
        raise _Refused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        name(tag), {name(key): value for key, value in attrs.items()}
    )
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except _Refused:
        raise FhirInputError(
            error(IssueCode.NOT_SUPPORTED, "The XML has a DOCTYPE declaration; FHIR XML must not have one")
        ) from None
    except (ExpatError, AssertionError, RecursionError) as exc:
        raise FhirInputError(error(IssueCode.STRUCTURE, f"The body is not well-formed XML: {exc}")) from None


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _primitive(raw: str, python_type: type | None) -> Any:
    if python_type is bool:
        return {"true": True, "false": False}.get(raw, raw)
    if python_type is int and _INTEGER.fullmatch(raw):
        return int(raw)
    if python_type is decimal.Decimal and _DECIMAL.fullmatch(raw):
        return int(raw) if _INTEGER.fullmatch(raw) else float(raw)
    return raw


def _xhtml(element: ET.Element, path: str) -> str:
    element.tail = None
    try:
        return ET.tostring(element, encoding="unicode", default_namespace=XHTML_NS)
    except ValueError as exc:
        raise _structure(f"the narrative is not XHTML ({exc})", path) from None


def _resource(element: ET.Element, path: str) -> dict[str, Any]:
    namespace, resource_type = _split(element.tag)
    if namespace != FHIR_NS:
        raise _structure(f"<{resource_type}> is not in the FHIR namespace {FHIR_NS}", path)
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise FhirInputError(
            error(IssueCode.NOT_SUPPORTED, f"{resource_type} is not a FHIR R4 resource type", resource_type)
        ) from None
    resource: dict[str, Any] = {"resourceType": resource_type}
    resource.update(_members(element, model, f"{path}.{resource_type}" if path else resource_type))
    return resource


def _members(element: ET.Element, model: type, path: str) -> dict[str, Any]:
    fields = _fields(model)
    out: dict[str, Any] = {}
    extras: dict[str, list[Any]] = {}
    for attribute in ("id", "url"):
        if attribute in element.attrib and attribute in fields:
            out[attribute] = element.attrib[attribute]
    for child in element:
        namespace, name = _split(child.tag)
        child_path = f"{path}.{name}"
        spec = fields.get(name)
        if namespace == XHTML_NS and name == "div" and spec is not None and spec.kind == "xhtml":
            out["div"] = _xhtml(child, child_path)
            continue
        if namespace != FHIR_NS:
            raise _structure(f"<{name}> is not in the FHIR namespace", child_path)
        if spec is None:
            # Keep it so that validation names it ("Extra inputs are not permitted").
            out.setdefault(name, child.attrib.get("value", ""))
            continue
        value, extra = _element(child, spec, child_path)
        if spec.repeats:
            out.setdefault(name, []).append(value)
            extras.setdefault(name, []).append(extra)
        elif name in out or f"_{name}" in out:
            raise _structure("the element occurs more than once but may occur only once", child_path)
        else:
            if value is not None:
                out[name] = value
            if extra is not None:
                out[f"_{name}"] = extra
    for name, values in extras.items():
        if any(item is not None for item in values):
            out[f"_{name}"] = values
        if all(item is None for item in out[name]):
            del out[name]
    return out


def _element(child: ET.Element, spec: _Field, path: str) -> tuple[Any, Any]:
    """The JSON value of one element and, for a primitive, its `_name` part (or None)."""
    if spec.kind == "resource":
        inner = list(child)
        if len(inner) != 1:
            raise _structure("must hold exactly one resource element", path)
        return _resource(inner[0], path), None
    if spec.kind == "complex":
        assert spec.model is not None
        return _members(child, spec.model, path), None
    if spec.kind == "xhtml":
        raise _structure("the narrative must be an XHTML <div>", path)
    raw = child.attrib.get("value")
    value = None if raw is None else _primitive(raw, spec.python_type)
    extra: dict[str, Any] = {}
    if "id" in child.attrib:
        extra["id"] = child.attrib["id"]
    extensions = [
        _members(grandchild, get_fhir_model_class("Extension"), f"{path}.extension")
        for grandchild in child
        if _split(grandchild.tag) == (FHIR_NS, "extension")
    ]
    if extensions:
        extra["extension"] = extensions
    if value is None and not extra:
        raise _structure("a primitive element needs a value attribute or extensions", path)
    return value, extra or None


def xml_to_json(data: bytes | str) -> dict[str, Any]:
    """Convert one FHIR XML resource (a Bundle included) into its FHIR JSON form; raise FhirInputError."""
    return _resource(_parse(data), "")
