"""A revenue report's weeks as a PNG: paid and refunded as bars, MRR as a line.

Drawn on a `Figure` with the Agg canvas directly, never through pyplot: pyplot keeps
global state and is not safe to use from the worker threads that build reports.
Floats appear only here, to place marks on the canvas; every label is formatted from the
exact integer amounts.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.revenue_view import amount
from governance.money import Money, exponent
from governance.revenue import CurrencyFigures, RevenueReport, WeekFigures, week_starts

WIDTH_PX = 1200
HEIGHT_PX = 600
DPI = 100
PAID_COLOUR = "#2e7d32"
REFUND_COLOUR = "#c62828"
MRR_COLOUR = "#1565c0"
TITLE = "Revenue — {label} ({currency})"
MAX_WEEK_LABELS = 14
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def render_revenue_chart(report: RevenueReport, currency: str) -> bytes:
    """The chart of one currency of the report, as PNG bytes of WIDTH_PX × HEIGHT_PX."""
    figure = revenue_figure(report, currency)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def revenue_figure(report: RevenueReport, currency: str) -> Figure:
    """The chart as a figure on its own Agg canvas (no pyplot, no shared state)."""
    code = currency.lower()
    figures = _figures_or_zero(report, code)
    weeks = figures.weeks
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    positions = list(range(len(weeks)))
    paid = [_major(week.paid) for week in weeks]
    refunded = [-_major(week.refunded) for week in weeks]
    bars.bar(positions, paid, width=0.6, color=PAID_COLOUR, label="Paid")
    bars.bar(positions, refunded, width=0.6, color=REFUND_COLOUR, label="Refunded")
    bars.axhline(0, color="#555555", linewidth=0.8)
    labels = [_week_label(weeks, index, report.period.end) for index in positions]
    step = -(-len(weeks) // MAX_WEEK_LABELS) if weeks else 1  # every label up to a quarter
    bars.set_xticks(positions[::step], labels[::step])
    bars.set_xlim(-0.6, max(len(weeks), 1) - 0.4)
    if len(weeks) > 8:  # longer than a month: slanted labels, so they never overlap
        bars.tick_params(axis="x", labelrotation=45, labelsize=8)
    bars.set_ylabel(f"Paid / refunded per week ({code.upper()})")
    bars.yaxis.set_major_locator(MaxNLocator(nbins=8))
    bars.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _tick(value, code)))
    bars.grid(axis="y", color="#dddddd", linewidth=0.6)
    bars.set_axisbelow(True)
    if not any(paid) and not any(refunded):
        bars.set_ylim(-1, 1)  # nothing moved: an axis of whole units, not of fractions of a cent

    line = bars.twinx()
    begun = [index for index, week in enumerate(weeks) if week.start < report.as_of]
    line.plot(
        begun,
        [_major(weeks[index].mrr) for index in begun],
        color=MRR_COLOUR,
        marker="o",
        linewidth=2,
        label="MRR (end of week)",
    )
    line.set_ylabel(f"MRR ({code.upper()})")
    line.yaxis.set_major_locator(MaxNLocator(nbins=8))
    line.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _: _tick(value, code) if value >= 0 else "")
    )
    # The MRR axis shares the bars' zero, so a refund bar never reads as falling MRR.
    low, high = bars.get_ylim()
    if high <= 0:  # refunds only: leave room above zero for the MRR line
        high = -low / 2
        bars.set_ylim(low, high)
    top = max([_major(week.mrr) for week in weeks] + [1.0]) * 1.15
    line.set_ylim(top * low / high, top)

    bar_handles, bar_labels = bars.get_legend_handles_labels()
    line_handles, line_labels = line.get_legend_handles_labels()
    figure.legend(
        bar_handles + line_handles,
        bar_labels + line_labels,
        loc="lower left",
        ncols=3,
        frameon=False,
        bbox_to_anchor=(0.07, 0.0),
    )
    bars.set_title(
        _literal(TITLE.format(label=report.period.label, currency=code.upper())),
        fontsize=15,
        fontweight="bold",
    )
    summary = (
        f"Net {amount(figures.net)} = paid {amount(figures.paid)} − refunded "
        f"{amount(figures.refunded)} − disputed {amount(figures.disputed)}"
    )
    figure.text(0.985, 0.02, _literal(summary), ha="right", va="bottom", fontsize=9)
    figure.subplots_adjust(left=0.09, right=0.91, top=0.9, bottom=0.16)
    return figure


def _figures_or_zero(report: RevenueReport, code: str) -> CurrencyFigures:
    """The currency's figures; a currency with nothing in the period charts as zeros."""
    for figures in report.currencies:
        if figures.currency == code:
            return figures
    zero = Money(0, code)
    weeks = tuple(WeekFigures(start, zero, zero, zero) for start in week_starts(report.period))
    return CurrencyFigures(
        currency=code,
        paid=zero,
        paid_out_of_band=zero,
        refunded=zero,
        disputed=zero,
        net=zero,
        outstanding=zero,
        overdue=zero,
        mrr_start=zero,
        mrr_end=zero,
        mrr_change=zero,
        top_clients=(),
        weeks=weeks,
    )


def _week_label(weeks: tuple[WeekFigures, ...], index: int, period_end: datetime) -> str:
    """`Nov 2–8`, `Nov 1` for a single day, `Dec 28–Jan 3` across months."""
    start = weeks[index].start.astimezone(UTC)
    end = weeks[index + 1].start if index + 1 < len(weeks) else period_end
    last = end.astimezone(UTC) - timedelta(microseconds=1)
    if last.date() == start.date():
        return f"{start:%b} {start.day}"
    if last.month == start.month:
        return f"{start:%b} {start.day}–{last.day}"
    return f"{start:%b} {start.day}–{last:%b} {last.day}"


def _major(money: Money) -> float:
    """For placing marks only; never shown."""
    return float(money.decimal)


def _tick(value: float, code: str) -> str:
    """An axis label: `$1,500`, `−$250`, `1,200 EUR`; cents only where a tick needs them."""
    places = 0 if float(value).is_integer() else min(2, exponent(code))
    number = f"{abs(Decimal(repr(float(value)))):,.{places}f}"
    sign = "−" if value < 0 and Decimal(number.replace(",", "")) != 0 else ""
    symbol = SYMBOLS.get(code)
    text = f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code.upper()}"
    return _literal(text)


def _literal(text: str) -> str:
    """Text matplotlib shows as written: a pair of `$` would otherwise start mathtext."""
    return text.replace("$", r"\$")
