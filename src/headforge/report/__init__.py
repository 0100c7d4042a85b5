"""Static HTML report of a pipeline run: metrics, training curves, image grids, timings."""

from headforge.report.build import ReportData, build_report, collect

__all__ = ["ReportData", "build_report", "collect"]
