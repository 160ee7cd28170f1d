"""Money as people read it: minor units shown with the currency's decimals and code."""

# Stripe's zero-decimal currencies: an amount of 1500 JPY is 1500 yen, not 15.00. Every other
# currency the service accepts is charged in hundredths, as on Stripe.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def currency_exponent(currency: str) -> int:
    """How many decimals the currency's minor units carry."""
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


def format_amount(amount: int, currency: str) -> str:
    """`format_amount(1999, "eur")` is "EUR 19.99"; `format_amount(1500, "jpy")` is "JPY 1,500".

    The sign goes after the code ("EUR -5.00") so that codes line up in a column of amounts.
    """
    code = currency.upper()
    sign = "-" if amount < 0 else ""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return f"{code} {sign}{abs(amount):,}"
    major, minor = divmod(abs(amount), 10**exponent)
    return f"{code} {sign}{major:,}.{minor:0{exponent}d}"
