"""Phone numbers for SMS codes: parsed and validated with libphonenumber (lazy import), stored as E.164."""

from __future__ import annotations

from chalicelib.core.errors import InvalidInput

MAX_INPUT = 32


def to_e164(raw: str) -> str:
    """``+41 44 668 18 00`` -> ``+41446681800``; raises InvalidInput unless it is a valid international number."""
    import phonenumbers

    text = (raw or "").strip()
    invalid = InvalidInput(
        "Enter a mobile number in international format, like +41 79 123 45 67.", fields={"phone_number": "invalid"}
    )
    if not text.startswith("+") or len(text) > MAX_INPUT:
        raise invalid
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as error:
        raise invalid from error
    if not phonenumbers.is_valid_number(number):
        raise invalid
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
