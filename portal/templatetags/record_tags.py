"""Small renderers for lines that repeat hundreds of times on a page, where an include is too slow."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def result_cell(value) -> str:
    """A result's table cell: the value, and the flag in words when it is outside the range."""
    if value is None:
        return mark_safe('<td class="nhsuk-table__cell dcr-num">&ndash;</td>')
    if value.flag:
        return format_html(
            '<td class="nhsuk-table__cell dcr-num dcr-flag">{} '
            '<strong class="dcr-flag-word">{}</strong></td>',
            value.shown,
            value.flag_word or value.flag,
        )
    return format_html('<td class="nhsuk-table__cell dcr-num">{}</td>', value.shown)
