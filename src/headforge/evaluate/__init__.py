"""Foreground image metrics and the evaluation of avatar bundles (the ``evaluate`` stage).

    from headforge.evaluate.metrics import score_images, ssim_map, foreground
    from headforge.evaluate.run import evaluate_bundle, summarise
"""
