"""Few-shot avatars by two-stage pivotal tuning of the prior (the ``invert`` stage).

    from headforge.invert.core import invert, InversionInputs, Avatar
    from headforge.invert.baseline import fit_baseline        # the no-prior baseline
    from headforge.invert.bundle import write_bundle, load_bundle, drive
"""
