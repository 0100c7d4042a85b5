"""``headforge benchmark``: methods compared on a suite of real captures (docs/benchmark.md)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmark of avatar methods (benchmark stage).")


@app.command("benchmark")
def benchmark_cmd(
    suite: str = typer.Option(None, "--suite", help="Suite name: suites/<NAME>.yaml "
                              "(default: benchmark.suite in params.yaml)."),
    methods: list[str] = typer.Option(None, "--methods", help="Methods to compare, repeated "
                                      "or comma-separated (default: benchmark.methods)."),
    realdata: str = typer.Option(None, "--realdata", help="Folder with the suite's real clips "
                                 "(default: the suite's, ../shared/realdata)."),
    root: Path = typer.Option(None, "--root", help="Project root (default: around the "
                              "working directory)."),
) -> None:
    """Run a benchmark suite and print its table (results/benchmark/, DVC metrics in
    results/metrics/benchmark.json)."""
    from headforge.context import Context
    from headforge.evaluate.bench_results import table_markdown
    from headforge.evaluate.benchmark import run
    from headforge.evaluate.suite import SuiteError

    names = [n for m in (methods or []) for n in m.split(",") if n] or None
    ctx = Context.load(root)
    try:
        res = run(ctx, suite=suite, methods=names, realdata=realdata)
    except (SuiteError, KeyError) as e:
        typer.echo(f"benchmark: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(table_markdown(res.summary["metrics"]))
    typer.echo(f"wrote {res.metrics_path} and {res.out_dir}")
