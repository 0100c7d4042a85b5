"""Few-shot avatars by two-stage pivotal tuning of the prior (the ``invert`` stage).

    headforge.invert.run(ctx)                               # the stage entry (entry.py)
    from headforge.invert.core import invert, InversionInputs, Avatar
    from headforge.invert.baseline import fit_baseline        # the no-prior baseline
    from headforge.invert.bundle import write_bundle, load_bundle, drive
"""


def __getattr__(name: str) -> object:
    # ``headforge.invert.run(ctx)``: the stage entry, imported on first use
    if name == "run":
        from headforge.invert.entry import run

        return run
    raise AttributeError(f"module 'headforge.invert' has no attribute {name!r}")
