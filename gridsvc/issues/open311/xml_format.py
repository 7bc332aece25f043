"""GeoReport v2 in XML, the format the spec names as required: the JSON answers, as elements.

Pure: lists of dicts in, bytes out. Each answer is a root element holding one element per
item, as the spec's examples show (``<services><service>…``, ``<service_requests>
<request>…``, ``<errors><error>…``); a field that is null is an empty element, a list
(a service definition's attributes and their values) nests one element per entry.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

#: What each answer's root and items are called.
SERVICES = ("services", "service")
REQUESTS = ("service_requests", "request")
ERRORS = ("errors", "error")
#: A list field's items: attributes hold attribute elements, values hold value elements.
LIST_ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint"}
MEDIA_TYPE = "text/xml; charset=utf-8"


def text_of(value: Any) -> str | None:
    """Return a field's text: booleans as the spec writes them (true/false), None as none."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_field(parent: ElementTree.Element, name: str, value: Any) -> None:
    """Append ``<name>value</name>`` to ``parent``, nesting dicts and lists."""
    child = ElementTree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            add_field(child, key, item)
    elif isinstance(value, list):
        for item in value:
            add_field(child, LIST_ITEMS.get(name, "item"), item)
    else:
        child.text = text_of(value)


def document(root: str, fields: dict[str, Any]) -> bytes:
    """Return one element (a service definition, discovery) as an XML document."""
    element = ElementTree.Element(root)
    for name, value in fields.items():
        add_field(element, name, value)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def listing(names: tuple[str, str], items: list[dict[str, Any]]) -> bytes:
    """Return a list answer (services, service requests, errors) as an XML document."""
    root, item_name = names
    element = ElementTree.Element(root)
    for item in items:
        add_field(element, item_name, item)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
