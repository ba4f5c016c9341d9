"""Decimals as people read them."""

import decimal


def decimal_text(value: decimal.Decimal) -> str:
    """Plain notation without trailing zeros: Decimal('2.5000') -> '2.5'."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
