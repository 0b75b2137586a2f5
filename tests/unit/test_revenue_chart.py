"""The revenue chart: a PNG of the intended size, what it draws, and no pyplot."""

from __future__ import annotations

import ast
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matplotlib.axes import Axes

from bot import revenue_chart
from bot.revenue_chart import (
    HEIGHT_PX,
    WIDTH_PX,
    _tick,
    _week_label,
    render_revenue_chart,
    revenue_figure,
)
from governance.money import Money
from governance.revenue import LedgerRows, Period, RevenueReport, WeekFigures, compute_report
from tests.unit.test_revenue import (
    LATER,
    NOVEMBER,
    at,
    dispute,
    invoice,
    refund,
    subscription,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[2]


def sample_report(now: datetime = LATER) -> RevenueReport:
    rows = LedgerRows(
        invoices=[
            invoice(150000, paid_at=at(3)),
            invoice(240000, paid_at=at(12)),
            invoice(50000, paid_at=at(18), out_of_band=True),
            invoice(99900, paid_at=at(30)),
            invoice(70000, paid_at=at(4), currency="eur"),
        ],
        refunds=[refund(25000, at(13)), refund(8000, at(27))],
        disputes=[dispute(10000, at(20))],
        subscriptions=[
            subscription(500000),
            subscription(1200000, "year", started_at=at(10)),
            subscription(150000, ended_at=at(24)),
        ],
    )
    return compute_report(rows, NOVEMBER, now)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    crc = struct.unpack(">I", data[16 + length : 20 + length])[0]
    assert zlib.crc32(data[12 : 16 + length]) == crc
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_png_of_1200_by_600() -> None:
    data = render_revenue_chart(sample_report(), "usd")
    assert png_size(data) == (WIDTH_PX, HEIGHT_PX) == (1200, 600)
    assert data.endswith(b"IEND\xaeB`\x82")
    assert len(data) > 10_000  # something was drawn


def test_the_chart_is_deterministic_and_safe_from_threads() -> None:
    report = sample_report()
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda _: render_revenue_chart(report, "usd"), range(8)))
    assert len(set(images)) == 1
    assert b"Software" not in images[0]  # no version stamp to make the bytes differ


def axes_of(report: RevenueReport, currency: str) -> tuple[Axes, Axes]:
    bars, line = revenue_figure(report, currency).axes
    return bars, line


def test_the_chart_draws_weekly_bars_and_the_mrr_line() -> None:
    report = sample_report()
    bars, line = axes_of(report, "usd")
    assert bars.get_title() == r"Revenue — November 2026 (USD)"
    heights = [round(patch.get_height(), 2) for patch in bars.patches]  # type: ignore[attr-defined]
    weeks = len(report.figures("usd").weeks)
    assert heights[:weeks] == [0.0, 1500.0, 2400.0, 500.0, 0.0, 999.0]  # paid, up
    assert heights[weeks:] == [0.0, 0.0, -250.0, 0.0, -80.0, 0.0]  # refunds, down
    (mrr,) = line.get_lines()
    assert list(mrr.get_ydata()) == [6500.0, 6500.0, 7500.0, 7500.0, 6000.0, 6000.0]  # type: ignore[arg-type]
    assert [label.get_text() for label in bars.get_xticklabels()] == [
        "Nov 1",
        "Nov 2–8",
        "Nov 9–15",
        "Nov 16–22",
        "Nov 23–29",
        "Nov 30",
    ]
    assert bars.get_ylabel() == "Paid / refunded per week (USD)"
    assert line.get_ylabel() == "MRR (USD)"
    legend = revenue_figure(report, "usd").legends[0]
    assert [text.get_text() for text in legend.get_texts()] == [
        "Paid",
        "Refunded",
        "MRR (end of week)",
    ]


def test_the_mrr_line_stops_at_now() -> None:
    report = sample_report(now=at(17))
    _, line = axes_of(report, "usd")
    (mrr,) = line.get_lines()
    assert list(mrr.get_xdata()) == [0, 1, 2, 3]  # type: ignore[arg-type]


def test_bars_and_mrr_share_their_zero() -> None:
    bars, line = axes_of(sample_report(), "usd")
    low, high = bars.get_ylim()
    line_low, line_high = line.get_ylim()
    assert low < 0 < high
    assert line_low / line_high == pytest.approx(low / high)


@pytest.mark.parametrize("currency", ["eur", "gbp"])
def test_other_currencies_and_absent_ones_still_chart(currency: str) -> None:
    report = sample_report()
    assert png_size(render_revenue_chart(report, currency.upper())) == (1200, 600)
    bars, _ = axes_of(report, currency)
    assert bars.get_title().endswith(f"({currency.upper()})")


def test_an_empty_or_long_period_still_charts() -> None:
    year = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "2026")
    empty = compute_report(LedgerRows(), year, LATER)
    assert png_size(render_revenue_chart(empty, "usd")) == (1200, 600)
    bars, _ = axes_of(empty, "usd")
    labels = [label.get_text() for label in bars.get_xticklabels()]
    assert 4 <= len(labels) <= 14
    assert labels[0] == "Jan 1–4"
    refunds_only = compute_report(LedgerRows(refunds=[refund(3000, at(9))]), NOVEMBER, LATER)
    assert png_size(render_revenue_chart(refunds_only, "usd")) == (1200, 600)


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (1500.0, "usd", r"\$1,500"),
        (-250.0, "usd", r"−\$250"),
        (0.5, "usd", r"\$0.50"),
        (-0.0, "usd", r"\$0"),
        (1200.0, "eur", "€1,200"),
        (1200.0, "chf", "1,200 CHF"),
        (1234.5, "jpy", "¥1,234"),
    ],
)
def test_axis_amounts(value: float, currency: str, text: str) -> None:
    assert _tick(value, currency) == text


def test_week_labels() -> None:
    zero = Money(0, "usd")
    starts = [at(28, 0, 12), datetime(2027, 1, 4, tzinfo=UTC)]
    weeks = tuple(WeekFigures(start, zero, zero, zero) for start in starts)
    end = datetime(2027, 1, 5, tzinfo=UTC)
    assert _week_label(weeks, 0, end) == "Dec 28–Jan 3"
    assert _week_label(weeks, 1, end) == "Jan 4"


def test_no_pyplot_anywhere() -> None:
    tree = ast.parse(Path(revenue_chart.__file__).read_text(encoding="utf-8"))
    names = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in names if name and "pyplot" in name]
    probe = (
        "import sys\n"
        "from tests.unit.test_revenue_chart import sample_report\n"
        "from bot.revenue_chart import render_revenue_chart\n"
        "render_revenue_chart(sample_report(), 'usd')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
