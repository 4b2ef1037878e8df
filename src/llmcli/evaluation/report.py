"""The result of ``eval``: it renders itself as JSON, plain text or rich tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmcli import __version__
from llmcli.evaluation.significance import Interval

if TYPE_CHECKING:
    from rich.console import RenderableType

JSON_FORMAT_VERSION = 1


@dataclass
class MetricResult:
    """One metric for one system."""

    metric: str
    score: float
    text: str
    signature: str
    details: dict[str, Any] = field(default_factory=dict)
    interval: Interval | None = None
    p_value: float | None = None
    segment_signature: str | None = None  # how segment scores were computed (--segments)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metric": self.metric, "score": self.score}
        out.update(self.details)
        if self.interval is not None:
            out["interval"] = {
                "mean": self.interval.mean,
                "ci": self.interval.ci,
                "low": self.interval.low,
                "high": self.interval.high,
            }
        if self.p_value is not None:
            out["p_value"] = self.p_value
        out["signature"] = self.signature
        if self.segment_signature is not None:
            out["segment_signature"] = self.segment_signature
        return out


@dataclass
class SystemResult:
    """Every metric for one system."""

    name: str
    baseline: bool
    metrics: list[MetricResult]
    segment_scores: dict[str, list[float]] = field(default_factory=dict)
    # {metric: {"precision": [...], "recall": [...], "fmeasure": [...]}} for ROUGE
    segment_details: dict[str, dict[str, list[float]]] = field(default_factory=dict)


@dataclass
class WorstSegment:
    """A low-scoring segment, with what was compared."""

    system: str
    segment: int  # 1-based, as a line number
    score: float
    hypothesis: str
    references: list[str]


@dataclass
class EvalReport:
    """Everything one ``eval`` run computed."""

    segments: int
    references: int | str
    metric_names: list[str]
    systems: list[SystemResult]
    test: str | None = None  # "bs" or "ar" when significance was tested
    worst_metric: str | None = None
    worst: list[WorstSegment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    include_segments: bool = False

    # --- JSON -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The stable JSON document described in the README."""
        doc: dict[str, Any] = {
            "format": JSON_FORMAT_VERSION,
            "llmcli": __version__,
            "segments": self.segments,
            "references": self.references,
            "metrics": self.metric_names,
        }
        if self.test:
            doc["test"] = self.test
        doc["systems"] = [
            {
                "name": s.name,
                "baseline": s.baseline,
                "scores": [m.to_json() for m in s.metrics],
                **({"segment_scores": s.segment_scores} if self.include_segments else {}),
                **({"segment_details": s.segment_details} if s.segment_details else {}),
            }
            for s in self.systems
        ]
        if self.worst_metric is not None:
            doc["worst"] = {
                "metric": self.worst_metric,
                "segments": [
                    {
                        "system": w.system,
                        "segment": w.segment,
                        "score": w.score,
                        "hypothesis": w.hypothesis,
                        "references": w.references,
                    }
                    for w in self.worst
                ],
            }
        doc["warnings"] = self.warnings
        return doc

    # --- plain text -----------------------------------------------------------------
    def to_text(self, width: int | None = None) -> str:
        """Tab-separated lines for pipes (see the README for the columns).

        ``width`` rounds every score to that many decimals; None prints them in full.
        """
        if self.include_segments:
            return self._segments_text(width)
        lines = []
        for system in self.systems:
            for m in system.metrics:
                cols = [system.name, m.metric, _fmt(m.score, width)]
                if m.interval is not None:
                    cols += [_fmt(m.interval.low, width), _fmt(m.interval.high, width)]
                if self.test is not None:
                    cols.append("-" if m.p_value is None else f"{m.p_value:.4f}")
                cols.append(m.signature)
                lines.append("\t".join(cols))
        if self.worst_metric is not None:
            lines.append("")
            for w in self.worst:
                lines.append(
                    "\t".join(
                        [
                            w.system,
                            str(w.segment),
                            _fmt(w.score, width),
                            _one_line(w.hypothesis),
                            _one_line(" ||| ".join(w.references)),
                        ]
                    )
                )
        return "\n".join(lines) + "\n"

    def _segments_text(self, width: int | None) -> str:
        columns = [
            system.segment_scores[name] for system in self.systems for name in self.metric_names
        ]
        rows = ["\t".join(_fmt(col[i], width) for col in columns) for i in range(self.segments)]
        return "\n".join(rows) + "\n"

    def to_scores_only(self, width: int | None = None) -> str:
        """Only the numbers (sacrebleu's ``-b``): one score per line, system by metric.

        With ``--segments`` that is the per-segment text, which holds only numbers already.
        """
        if self.include_segments:
            return self._segments_text(width)
        lines = [_fmt(m.score, width) for system in self.systems for m in system.metrics]
        return "\n".join(lines) + "\n"

    # --- LaTeX ------------------------------------------------------------------------
    def to_latex(self, width: int | None = None) -> str:
        """A booktabs table, one row per system (sacrebleu's ``-f latex``)."""
        lines = [
            "\\begin{tabular}{l" + "r" * len(self.metric_names) + "}",
            "\\toprule",
            " & ".join(["System", *map(_latex_escape, self.metric_names)]) + " \\\\",
            "\\midrule",
        ]
        for system in self.systems:
            name = system.name + (" (baseline)" if system.baseline and self.test else "")
            cells = [_latex_escape(name)]
            for m in system.metrics:
                digits = _digits(m.metric) if width is None else width
                cell = f"{m.score:.{digits}f}"
                if m.interval is not None:
                    cell += f" $\\pm$ {m.interval.ci:.{digits}f}"
                if m.p_value is not None:
                    cell += f" (p = {m.p_value:.4f}){'*' if m.p_value < 0.05 else ''}"
                cells.append(cell)
            lines.append(" & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        if self.test:
            lines.append("% * p < 0.05 against the baseline")
        lines += [f"% {m.metric}: {m.signature}" for m in self.systems[0].metrics]
        return "\n".join(lines) + "\n"

    # --- terminal ---------------------------------------------------------------------
    def to_rich(self, width: int | None = None) -> list[RenderableType]:
        """Tables for a person at a terminal; ``width`` overrides the decimals shown."""
        from rich.table import Table

        table = Table(title=f"{self.segments} segments, {self.references} reference(s)")
        table.add_column("system")
        for name in self.metric_names:
            table.add_column(name, justify="right")
        for system in self.systems:
            cells = [system.name + (" (baseline)" if system.baseline and self.test else "")]
            for m in system.metrics:
                cell = _fmt_short(m.score, m.metric, width)
                if m.interval is not None:
                    cell += f" ±{_fmt_short(m.interval.ci, m.metric, width)}"
                if m.p_value is not None:
                    cell += f" (p={m.p_value:.4f}){'*' if m.p_value < 0.05 else ''}"
                cells.append(cell)
            table.add_row(*cells)
        out: list[RenderableType] = [table]
        if self.test:
            out.append("* p < 0.05 against the baseline")
        sig_table = Table(title="signatures", show_header=False, box=None)
        for m in self.systems[0].metrics:
            sig_table.add_row(m.metric, m.signature)
            if m.segment_signature is not None:
                sig_table.add_row(f"{m.metric} (segments)", m.segment_signature)
        out.append(sig_table)
        if self.include_segments:
            seg = Table(title="segment scores")
            seg.add_column("#", justify="right")
            for system in self.systems:
                for name in self.metric_names:
                    seg.add_column(f"{system.name} {name}", justify="right")
            for i in range(self.segments):
                row = [str(i + 1)]
                for system in self.systems:
                    for name in self.metric_names:
                        row.append(_fmt_short(system.segment_scores[name][i], name, width))
                seg.add_row(*row)
            out.append(seg)
        if self.worst_metric is not None:
            worst = Table(title=f"lowest {self.worst_metric}", show_lines=True)
            for col in ("system", "line", self.worst_metric, "hypothesis", "reference"):
                worst.add_column(col, overflow="fold")
            for w in self.worst:
                worst.add_row(
                    w.system,
                    str(w.segment),
                    _fmt_short(w.score, self.worst_metric, width),
                    w.hypothesis,
                    "\n".join(w.references),
                )
            out.append(worst)
        return out


def _fmt(value: float, width: int | None = None) -> str:
    if width is not None:
        return f"{value:.{width}f}"
    return repr(float(value)) if value != int(value) else f"{value:.1f}"


def _digits(metric: str) -> int:
    return 4 if metric.startswith("rouge") else 2


def _fmt_short(value: float, metric: str, width: int | None = None) -> str:
    return f"{value:.{_digits(metric) if width is None else width}f}"


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {
    "\\": "\\textbackslash{}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def _one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")
