"""Evaluation of avatar bundles (the ``evaluate`` stage) and the benchmark (``benchmark``).

    from headforge.evaluate.run import evaluate_bundle, summarise     # held-out splits
    from headforge.evaluate.benchmark import run                      # suites of real captures

The metrics themselves live in :mod:`headforge.metrics` (below ``prior`` and ``evaluate``).
"""
