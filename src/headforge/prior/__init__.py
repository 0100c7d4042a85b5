"""UV-space generative Gaussian head prior (the ``train_prior`` stage).

    from headforge.prior.train import train, load_checkpoint, prior_from_checkpoint
    from headforge.prior.stage import train_base, load_head
    from headforge.prior.adapt import run_adaptation, train_adapted

An identity latent (auto-decoder) and the expression, decoded by a CNN into Gaussian parameter
maps in the head model's UV layout; Gaussians sit at per-part UV sample points (denser on the
scalp) bound to the posed mesh.
"""
