"""Money: ISO 4217 currency codes with their minor-unit exponents, and major<->minor conversion.

Amounts are stored and computed as integers of minor units; floats never touch money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.api_schema import INT32

# Every money column is a peewee IntegerField (32-bit INTEGER on PostgreSQL): no amount may leave its range.
MINOR_UNITS_RANGE = INT32

# ISO 4217 active codes -> number of decimal places (minor unit exponent).
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                 "VND", "VUV", "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_FOUR_DECIMAL = {"CLF", "UYW"}
_TWO_DECIMAL_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ
GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB
SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD
USN UYU UZS VED VES WST XCD YER ZAR ZMW ZWL XCG
"""
_TWO_DECIMAL = set(_TWO_DECIMAL_CODES.split())

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _TWO_DECIMAL},
    **{code: 0 for code in _ZERO_DECIMAL},
    **{code: 3 for code in _THREE_DECIMAL},
    **{code: 4 for code in _FOUR_DECIMAL},
}


def is_currency(code: str) -> bool:
    """True for an active ISO 4217 code (upper case)."""
    return isinstance(code, str) and code in CURRENCY_EXPONENTS


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)."""
    return CURRENCY_EXPONENTS[currency]


def to_minor(amount, currency: str) -> int:
    """Major units (e.g. 19.99 or "19.99") to integer minor units; ValueError for finer precision than the
    currency has, and for an amount a money column cannot hold (`MINOR_UNITS_RANGE`)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a number")
    scaled = value.scaleb(exponent(currency))
    low, high = MINOR_UNITS_RANGE
    if not low <= scaled <= high:
        raise ValueError(f"{amount} is out of range (at most {to_major(high, currency)} {currency})")
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows ({exponent(currency)})")
    return int(scaled)


def fits_money_column(*amounts: int) -> bool:
    """True when every amount (minor units) lies in `MINOR_UNITS_RANGE`, so a money column can hold it."""
    low, high = MINOR_UNITS_RANGE
    return all(low <= amount <= high for amount in amounts)


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in major units (1999 USD -> Decimal('19.99'))."""
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def percentage_of(minor: int, percent: float | Decimal) -> int:
    """`percent` % of an amount in minor units, rounded half up to a whole minor unit."""
    return int((Decimal(minor) * Decimal(str(percent)) / Decimal(100)).quantize(Decimal(1), ROUND_HALF_UP))


def format_money(minor: int, currency: str) -> str:
    """A plain human rendering, e.g. '19.99 USD' or '1500 JPY'."""
    return f"{to_major(minor, currency)} {currency}"


def price_view(minor: int, currency: str) -> dict:
    """The 003 price object: {decimal, amount (minor), currency, formatted}."""
    return {"decimal": str(to_major(minor, currency)), "amount": minor, "currency": currency,
            "formatted": format_money(minor, currency)}
