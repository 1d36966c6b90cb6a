"""The assessment as one PNG chart, with Chinese labels in a font shipped as a package.

The font is Noto Sans SC from the ``pylopdf-fonts-zh-cn`` package (SIL Open Font License):
no system font is needed, so the chart looks the same on every machine. matplotlib draws
with its Agg renderer, through the object-oriented API only (no ``pyplot``, no global
figure state), so a chart can be drawn in a worker thread.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.i18n import N_, NP_, plural_count, plural_translator, translator
from bot.reports import number, percent, title, unit_name
from bot.services.assessment import Assessment, UnitRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 1200, 900, 100
MAX_UNITS = 14
MAX_NAME = 22
FONT_FILE = "NotoSansSC-Regular.otf"

VOLUME = N_("Cases per unit")
RECEIVED = N_("Received")
YEAR_BEFORE = N_("A year before")
OVERDUE = N_("Overdue now")
ANSWER_RATE = N_("On-time answer rate")
DISCLOSURE_RATE = N_("Disclosure on-time rate")
NO_OBLIGATIONS = N_("No disclosure was due in this period.")
THRESHOLD = N_("Threshold {value}")
RANKING = N_("Ranking by composite score")
NO_RANKING = N_("No unit has enough cases to be ranked (at least {min}).")
NO_CASES = N_("No cases in this period.")
TOTALS = N_("All units")
TOTAL_LINES = (
    (N_("Cases received: {value}"), "received", "count"),
    (N_("A year before: {value}"), "received_year_before", "count"),
    (N_("Change against a year before: {value}"), "volume_change", "signed"),
    (N_("Accepted on time: {value}"), "accept_rate", "rate"),
    (N_("Answered on time: {value}"), "answer_rate", "rate"),
    (N_("Overdue now: {value}"), "overdue_now", "count"),
    (NP_("Average time to answer: {value} working day",
         "Average time to answer: {value} working days"), "answer_avg", "days"),
    (N_("Response rate: {value}"), "response_rate", "rate"),
    (N_("Resolution rate: {value}"), "resolution_rate", "rate"),
    (N_("Satisfaction rate: {value}"), "satisfaction_rate", "rate"),
    (N_("Disclosure on-time rate: {value}"), "disclosure_on_time_rate", "rate"),
    (N_("Disclosure completeness: {value}"), "disclosure_completeness", "rate"),
    (N_("Opinion response rate: {value}"), "opinion_response_rate", "rate"),
    (N_("Composite score: {value}"), "score", "score"),
    (NP_("On the accountability list: {value} unit",
         "On the accountability list: {value} units"), "accountable", "count"),
)

_font_lock = threading.Lock()
_font_name: str | None = None


def font_path() -> Path:
    """The bundled CJK font file."""
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


def font_family() -> str:
    """Register the bundled font with matplotlib (once) and return its family name."""
    global _font_name
    with _font_lock:
        if _font_name is None:
            from matplotlib import font_manager

            path = str(font_path())
            font_manager.fontManager.addfont(path)
            _font_name = str(font_manager.FontProperties(fname=path).get_name())
        return _font_name


def _rc() -> Any:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [font_family()],
        "axes.unicode_minus": False,
        "font.size": 10,
    }


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def _active(rows: tuple[UnitRow, ...]) -> list[UnitRow]:
    """Units with something to show (cases, or disclosures due), most cases first, at most
    :data:`MAX_UNITS`."""
    rows_with = [r for r in rows if r.own.received or r.own.received_year_before
                 or r.own.overdue_now or r.own.answer_total or r.own.obligations_due]
    rows_with.sort(key=lambda r: -(r.own.received + r.own.overdue_now))
    return rows_with[:MAX_UNITS]


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def build_figure(assessment: Assessment, config: Config, language: str) -> Figure:
    """The chart as a matplotlib figure (call inside :func:`font_context`)."""
    from matplotlib.figure import Figure

    t = translator(language)
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    fig.suptitle(title(t, assessment), fontsize=13)
    active = _active(assessment.rows)
    names = [_short(unit_name(config, r.unit_id, language)) for r in active]

    volume = fig.add_axes((0.2, 0.52, 0.3, 0.34))
    _volume(volume, t, active, names)
    rates = fig.add_axes((0.67, 0.52, 0.145, 0.34))
    _rates(rates, t, active, names, volume, ANSWER_RATE, NO_CASES,
           [row.own.answer_rate for row in active],
           assessment.settings.answer_on_time_below)
    disclosure = fig.add_axes((0.835, 0.52, 0.145, 0.34))
    _rates(disclosure, t, active, None, volume, DISCLOSURE_RATE, NO_OBLIGATIONS,
           [row.own.disclosure_on_time_rate for row in active],
           assessment.disclosure_threshold)
    ranking = fig.add_axes((0.2, 0.06, 0.3, 0.34))
    _ranking(ranking, t, assessment, config, language)
    totals = fig.add_axes((0.56, 0.02, 0.41, 0.42))
    _totals(totals, t, assessment, language)
    return fig


def _volume(ax: Axes, t: Any, active: list[UnitRow], names: list[str]) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(t(VOLUME), pad=22)
    if not active:
        ax.set_axis_off()
        ax.text(0.5, 0.5, t(NO_CASES), ha="center", va="center")
        return
    positions = list(range(len(active)))
    height = 0.27
    series = (
        ([r.own.received for r in active], t(RECEIVED), "#2f6db5", -height),
        ([r.own.received_year_before for r in active], t(YEAR_BEFORE), "#9bb7d9",
         0.0),
        ([r.own.overdue_now for r in active], t(OVERDUE), "#c0392b", height),
    )
    for values, label, color, offset in series:
        ax.barh([p + offset for p in positions], values, height=height, label=label,
                color=color)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8,
              frameon=False)


def _rates(ax: Axes, t: Any, active: list[UnitRow], names: list[str] | None, beside: Axes,
           heading: str, empty: str, fractions: list[float | None], threshold: float) -> None:
    """A rate per unit (on-time answers, or disclosures on time) against its threshold, one
    row per unit of the volume panel ``beside`` and at the same height, so that each unit's
    rows line up across the panels ("—": nothing due yet). ``names``: None leaves the rows
    unnamed (the panel stands right of one that names them)."""
    ax.set_title(t(heading), pad=22)
    if all(fraction is None for fraction in fractions):
        ax.set_axis_off()
        ax.text(0.5, 0.5, t(empty), ha="center", va="center", wrap=True)
        return
    threshold *= 100
    rates = [None if fraction is None else fraction * 100 for fraction in fractions]
    values = [rate or 0.0 for rate in rates]
    colors = ["#c0392b" if v < threshold else "#27864a" for v in values]
    positions = list(range(len(active)))
    ax.barh(positions, values, height=0.6, color=colors)
    ax.set_yticks(positions, names or [""] * len(positions))
    if names is None:
        ax.tick_params(axis="y", length=0)
    ax.set_ylim(beside.get_ylim())  # the volume panel's rows (already top to bottom)
    ax.set_xlim(0, 105)
    ax.axvline(threshold, color="#555555", linestyle="--", linewidth=1,
               label=t(THRESHOLD).format(value=f"{threshold:.0f}%"))
    for position, rate in zip(positions, rates, strict=True):
        _bar_label(ax, position, rate or 0.0, "—" if rate is None else f"{rate:.0f}%")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)


def _ranking(ax: Axes, t: Any, assessment: Assessment, config: Config, language: str) -> None:
    ax.set_title(t(RANKING))
    ranked = assessment.ranking[:MAX_UNITS]
    if not ranked:
        ax.set_axis_off()
        ax.text(0.5, 0.5, t(NO_RANKING).format(min=assessment.settings.min_cases),
                ha="center", va="center", wrap=True)
        return
    positions = list(range(len(ranked)))
    scores = [row.own.score or 0 for row in ranked]
    ax.barh(positions, scores, color="#2f6db5")
    ax.set_yticks(positions, [f"{row.rank}. {_short(unit_name(config, row.unit_id, language))}"
                              for row in ranked])
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    for position, score in zip(positions, scores, strict=True):
        _bar_label(ax, position, score, f"{score:.1f}")


def _bar_label(ax: Axes, position: float, value: float, text: str) -> None:
    """A value at the end of its bar: inside a long bar, after a short one; aligned as the
    axis labels are (``center_baseline``), so that each sits level with its unit's name."""
    if value > 80:
        ax.text(value - 1, position, text, va="center_baseline", ha="right", fontsize=8,
                color="white")
    else:
        ax.text(value + 1, position, text, va="center_baseline", ha="left", fontsize=8)


def _totals(ax: Axes, t: Any, assessment: Assessment, language: str) -> None:
    ax.set_axis_off()
    total = assessment.total
    accountable = len({entry.unit_id for entry in assessment.accountability})
    lines = [t(TOTALS)]
    for message, key, style in TOTAL_LINES:
        raw = accountable if key == "accountable" else total.value(key)
        if style == "rate":
            text = percent(raw)
        elif style == "signed":
            text = _signed(raw)
        elif style == "days":
            text = number(raw)
        elif style == "score":
            text = number(raw, 1)
        else:
            text = str(raw)
        if isinstance(message, tuple):  # a count: its plural form
            count = plural_count(float(text)) if raw is not None else 2
            lines.append(plural_translator(language)(*message, count).format(value=text))
        else:
            lines.append(t(message).format(value=text))
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=10.5, linespacing=1.5)


def render_png(assessment: Assessment, config: Config, language: str) -> bytes:
    """The chart as PNG bytes, :data:`WIDTH` × :data:`HEIGHT` pixels."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context(_rc()):
        fig = build_figure(assessment, config, language)
        canvas = FigureCanvasAgg(fig)
        buffer = io.BytesIO()
        canvas.print_png(buffer)
    return buffer.getvalue()


def font_context() -> Any:
    """matplotlib settings that draw with the bundled font (a context manager)."""
    import matplotlib

    return matplotlib.rc_context(_rc())
