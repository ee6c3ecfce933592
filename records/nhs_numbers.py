"""NHS number rules, on top of the `nhs-number` package's Modulus 11 check."""

import re

import nhs_number

_SEPARATORS = re.compile(r"[\s-]")


def normalise(value: str | None) -> str:
    """Digits only: `943 476 5919` and `943-476-5919` become `9434765919`."""
    return _SEPARATORS.sub("", value or "")


def is_valid(value: str | None) -> bool:
    """Ten digits whose check digit is right. Never store anything else as an NHS number."""
    digits = normalise(value)
    return len(digits) == 10 and digits.isdigit() and nhs_number.is_valid(digits)


def formatted(value: str | None) -> str:
    """Shown as `3 3 4`: 943 476 5919."""
    digits = normalise(value)
    if len(digits) != 10:
        return digits
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
