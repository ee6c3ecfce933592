"""Render Django form fields with the NHS design system's classes (used by the sign-in pages)."""

from django import forms, template

register = template.Library()


@register.filter
def nhsuk_widget(field: forms.BoundField) -> str:
    """The field's input with the design system's class, its hint and error linked for screen readers."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "nhsuk-checkboxes__input"
    elif isinstance(widget, forms.Textarea):
        css = "nhsuk-textarea"
    elif isinstance(widget, forms.Select):
        css = "nhsuk-select"
    else:
        css = "nhsuk-input"
    if css == "nhsuk-input" and field.name != "code":
        css += " nhsuk-u-width-two-thirds"  # full-width inputs are hard to read on a wide screen
    if field.errors:
        css += " nhsuk-input--error" if css.startswith("nhsuk-input") else ""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}-hint")
    if field.errors:
        described.append(f"{field.auto_id}-error")
    attrs = {"class": f"{css} {widget.attrs.get('class', '')}".strip()}
    widget.attrs.pop("placeholder", None)  # the design system labels fields and never relies on placeholders
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.name == "code":
        attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"})
        attrs["class"] += " nhsuk-input--width-10"
    return field.as_widget(attrs=attrs)


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.filter
def in_fours(value: str) -> str:
    """A set-up key is easier to type from a phone screen in groups of four."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
