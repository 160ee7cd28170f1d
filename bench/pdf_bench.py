"""Invoice PDF rendering throughput: `python -m bench.pdf_bench --count 500`.

Renders in-memory invoices (no database) on one core and prints invoices/s per core (CPU
time, `time.process_time`, which other processes on a shared machine barely disturb), for
the whole mix and for each kind of script, the average PDF size, and peak RSS.
The invoices are transient ORM objects: `lines` is `lazy="raise"`, but that strategy only
governs loading from a session, and a transient object has none, so assigning
`invoice.lines = [...]` simply sets the collection, exactly as the service's eager load does.
"""

import argparse
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.invoices.pdf import Seller, render_invoice_pdf
from app.models import Invoice, InvoiceLine, InvoiceStatus

SELLER = Seller(
    name="Cloud Platform Inc.",
    address="1 Infrastructure Way, 10115 Berlin, Germany",
    email="billing@cloud.example",
)

# (description, unit amount in cents, largest quantity billed)
PRODUCTS = (
    ("Compute: shared vCPU hours", 1, 2000),
    ("Compute: dedicated vCPU hours", 4, 1500),
    ("Block storage (GB-month)", 10, 500),
    ("Object storage egress (GB)", 2, 3000),
    ("Managed PostgreSQL, 2 vCPU / 8 GB, high availability (hours)", 9, 744),
    ("Load balancer hours", 3, 744),
    ("Build minutes", 1, 5000),
    ("Support plan: Business", 4900, 1),
    ("IPv4 addresses", 50, 8),
    ("Snapshots (GB-month) for volumes in eu-central and eu-west, retained 30 days", 5, 400),
)

# (name, line1, postal code, city, state, country, VAT id, preferred locale, currency, kind).
# Mostly customers whose text the standard PDF fonts print (`windows-1252`), and one or two
# of each script that needs the embedded fonts; `kind` groups them in the per-kind figures.
STANDARD = "windows-1252"  # the kind of the customers the standard fonts print
CUSTOMERS = (
    (
        "Acme GmbH",
        "Hauptstraße 5",
        "10115",
        "Berlin",
        "",
        "DE",
        "DE811907980",
        "de",
        "eur",
        STANDARD,
    ),
    (
        "Initech LLC",
        "4120 Freidrich Ln",
        "78744",
        "Austin",
        "TX",
        "US",
        None,
        "en",
        "usd",
        STANDARD,
    ),
    (
        "Société Générale d'Exemple",
        "12 rue de la Paix",
        "75002",
        "Paris",
        "",
        "FR",
        None,
        "fr",
        "eur",
        STANDARD,
    ),
    ("Café Núñez S.L.", "Calle Mayor 1", "28013", "Madrid", "", "ES", None, "es", "eur", STANDARD),
    (
        "Zoë Łukasiewicz",
        "ul. Piotrkowska 104",
        "90-001",
        "Łódź",
        "",
        "PL",
        None,
        "en",
        "eur",
        "latin-ext",
    ),
    (
        "Νίκος Παπαδόπουλος",
        "Ερμού 10",
        "105 63",
        "Αθήνα",
        "",
        "GR",
        None,
        "en",
        "eur",
        "greek-cyrillic",
    ),
    (
        "ООО «Ромашка»",  # noqa: RUF001 - Cyrillic letters on purpose
        "ул. Тверская, 7",
        "125009",
        "Москва",
        "",
        "RU",
        None,
        "ru",
        "rub",
        "greek-cyrillic",
    ),
    ("株式会社サンプル", "1-1 Chiyoda", "100-0001", "東京", "", "JP", None, "en", "jpy", "cjk"),
    ("王小明", "建国路 88 号", "100022", "北京", "", "CN", None, "zh-CN", "cny", "cjk"),
    ("شركة النور", "شارع الشيخ زايد", "00000", "دبي", "", "AE", None, "en", "aed", "arabic"),
    ("Gulf Trading W.L.L.", "Road 1702", "317", "Manama", "", "BH", None, "en", "bhd", STANDARD),
)

STATUSES = (
    InvoiceStatus.PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.PAYMENT_DUE,
    InvoiceStatus.PAYMENT_PENDING,
    InvoiceStatus.NOT_PAID,
    InvoiceStatus.VOIDED,
)


def build_invoice(index: int, rng: random.Random) -> Invoice:
    """A finalized invoice with 5 to 10 lines, as the platform typically bills a project."""
    customer = CUSTOMERS[index % len(CUSTOMERS)]
    name, line1, postal_code, city, state, country, vat_id, locale, currency, _ = customer
    unit_scale = 100 if currency in ("jpy", "krw") else 1
    lines = []
    products = rng.sample(PRODUCTS, rng.randint(5, 10))
    for position, (description, unit_amount, max_quantity) in enumerate(products):
        quantity = rng.randint(1, max_quantity)
        unit = unit_amount * unit_scale
        lines.append(
            InvoiceLine(
                position=position,
                description=description,
                quantity=quantity,
                unit_amount=unit,
                amount=quantity * unit,
            )
        )
    subtotal = sum(line.amount for line in lines)
    tax = subtotal * 19 // 100 if country == "DE" else 0
    total = subtotal + tax
    status = rng.choice(STATUSES)
    period_start = datetime(2026, 10, 1, tzinfo=UTC)
    finalized_at = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    invoice = Invoice(
        id=f"in_bench{index:08d}",
        account_id="acct_42",
        project_id=f"proj_{index % 7}",
        project_name="Web shop production",
        number=f"INV-{index + 1:06d}",
        status=status,
        currency=currency,
        subtotal=subtotal,
        tax=tax,
        total=total,
        amount_paid=total if status is InvoiceStatus.PAID else 0,
        period_start=period_start,
        period_end=datetime(2026, 11, 1, tzinfo=UTC),
        created_at=finalized_at - timedelta(minutes=5),
        finalized_at=finalized_at,
        due_date=finalized_at + timedelta(days=14),
        paid_at=finalized_at if status is InvoiceStatus.PAID else None,
        voided_at=finalized_at + timedelta(days=2) if status is InvoiceStatus.VOIDED else None,
        billing_snapshot={
            # Each invoice its own customer, as in production: a name is rarely printed twice
            # by one process, so the renderer's per-process caches must not count on it.
            "name": f"{name} {index // len(CUSTOMERS) + 1}",
            "email": "accounts@example.com",
            "address": {
                "line1": line1,
                "line2": None,
                "city": city,
                "postal_code": postal_code,
                "state": state or None,
                "country": country,
            },
            "vat_id": vat_id,
            "preferred_locale": locale,
            "source": "account",
        },
    )
    invoice.lines = lines
    return invoice


def _peak_rss_mib() -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=500, help="invoices to render")
    parser.add_argument("--seed", type=int, default=1, help="seed for the invoice generator")
    parser.add_argument("--sample", type=Path, help="also write the first rendered PDF here")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

    rng = random.Random(args.seed)
    invoices = [build_invoice(index, rng) for index in range(args.count)]
    # One render of each customer first, so that imports and the per-process font tables
    # are not counted as throughput; what they cost is printed apart.
    warm_up = time.process_time()
    first = render_invoice_pdf(invoices[0], SELLER)
    for invoice in invoices[1 : len(CUSTOMERS)]:
        render_invoice_pdf(invoice, SELLER)
    warm_up = time.process_time() - warm_up
    rss_before = _peak_rss_mib()
    if args.sample:
        args.sample.write_bytes(first)

    cpu_per_kind: dict[str, list[float]] = defaultdict(list)
    bytes_per_kind: dict[str, int] = defaultdict(int)
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    for index, invoice in enumerate(invoices):
        kind = CUSTOMERS[index % len(CUSTOMERS)][-1]
        started = time.process_time()
        size = len(render_invoice_pdf(invoice, SELLER))
        cpu_per_kind[kind].append(time.process_time() - started)
        bytes_per_kind[kind] += size
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start

    peak_mib = _peak_rss_mib()
    total_kib = sum(bytes_per_kind.values()) / 1024
    print(f"rendered      {args.count} invoices (5-10 lines each, {len(CUSTOMERS)} customers)")
    print(
        f"per core      {args.count / cpu:,.0f} invoices/s ({cpu / args.count * 1000:.2f} ms"
        f" CPU each; wall clock {args.count / wall:,.0f}/s)"
    )
    print(f"average size  {total_kib / args.count:.1f} KiB")
    print(f"{'by kind':14}{'invoices/s per core':>20}{'CPU ms':>9}{'KiB':>7}")
    for kind, times in cpu_per_kind.items():
        kib = bytes_per_kind[kind] / 1024 / len(times)
        mean = sum(times) / len(times)
        print(f"  {kind:16}{1 / mean:>14,.0f}{mean * 1000:>11.2f}{kib:>7.1f}")
    # Importing the renderer is not counted; parsing the fonts on first use is.
    print(f"first use     {warm_up * 1000:.0f} ms CPU (one invoice per customer, fonts parsed)")
    # The invoices are all built before timing starts, so most of the peak is their ORM
    # objects; the growth while rendering is what the renderer itself holds.
    print(f"peak RSS      {peak_mib:.1f} MiB ({peak_mib - rss_before:+.1f} MiB while rendering)")
    if args.sample:
        print(f"sample        {args.sample}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
