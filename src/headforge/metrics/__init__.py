"""Metrics shared by training, evaluation and the benchmark, one small module each.

Below ``prior`` and ``evaluate`` in the import graph: nothing here imports them (nor
``track``; the keypoint and tracker-based metrics take the detector's points or the tracker's
parameters as arrays).

* :mod:`.foreground` the scored region (GT mask united with rendered alpha);
* :mod:`.psnr`, :mod:`.ssim`, :mod:`.l1` photometric scores on that region;
* :mod:`.image` the three together per image (:class:`ImageScores`) and their means;
* :mod:`.lpips` LPIPS from a local TorchScript file (none ships; nothing is downloaded);
* :mod:`.csim` identity cosine similarity from dlib's face-recognition ResNet;
* :mod:`.akd` average keypoint distance between two landmark sets;
* :mod:`.aed` expression (AED) and head-pose (APD) distances between tracked parameters.
"""

from headforge.metrics.foreground import foreground
from headforge.metrics.image import ImageScores, mean_scores, score_images
from headforge.metrics.lpips import lpips_weights_available
from headforge.metrics.ssim import ssim_map

NAMES = ("psnr", "ssim", "l1", "lpips", "csim", "akd", "aed", "apd")
"""Every per-frame metric the benchmark reports, in table order."""

__all__ = ["NAMES", "ImageScores", "foreground", "lpips_weights_available", "mean_scores",
           "score_images", "ssim_map"]
