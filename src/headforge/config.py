"""Typed configuration: one dataclass per ``params.yaml`` section, validated on load.

``params.yaml`` holds a top-level ``profile`` key (``tiny`` or ``paper``). A section's own keys
are shared by all profiles; a nested block named after a profile overrides them. Unknown keys,
missing keys and wrong types raise :class:`ConfigError` naming the key and the fix.

Stages add their section here as a dataclass with a docstring per field, and read it with
``load_section(MyConfig, "my_section")``.
"""

from __future__ import annotations

import dataclasses
import typing

from headforge.extensions import OneOf
from headforge.params_loader import (
    PROFILES,
    ConfigError,
    active_profile,
    build,
    load_section,
    read_params,
    section_values,
)

# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PathsConfig:
    """Where shared state lives."""

    registry_url: str = "sqlite:///registry/headforge.sqlite"
    """SQLAlchemy URL of the consent/lineage/audit registry; a relative sqlite path is taken
    from the project root."""
    dvc_remote: str = ".dvc-remote"
    """Default local DVC remote folder (relative to the project root)."""


@dataclasses.dataclass(frozen=True)
class HeadModelConfig:
    """Which FLAME-format head model every stage uses."""

    source: typing.Literal["builtin", "flame"] = "builtin"
    """``builtin``: the project's own open model; ``flame``: a user's licensed FLAME file."""
    flame_path: str = ""
    """Path to ``generic_model.pkl`` (FLAME 2020) or ``flame2023.pkl`` when source is flame."""
    landmark_embedding_path: str = ""
    """Optional landmark embedding (.npy/.npz) for a FLAME file."""
    n_shape: int = 50
    """Identity components used (at most what the model has)."""
    n_expr: int = 20
    """Expression components used (at most what the model has)."""


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    """Gaussian rasterizer settings, applied to every render of the process by
    :meth:`headforge.context.Context.load` (:func:`headforge.splat.render.configure`)."""

    backend: typing.Literal["auto", "torch", "gsplat"] = "auto"
    """auto picks gsplat on CUDA tensors when it is importable, the torch rasterizer otherwise."""
    tile_size: int = 8
    """Square tile edge in pixels (never changes the image; 8 is fastest for the torch
    rasterizer on CPU, gsplat's own default is 16)."""


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Synthetic head dataset rendered with Blender (``synth`` stage)."""

    seed: int = 0
    """Master seed: same seed and version give hash-identical images on one machine."""
    version: int = 1
    """Dataset version; ``regenerate`` bumps it."""
    runner: typing.Literal["local", "dask"] = "local"
    """local: a process pool; dask: Prefect's DaskTaskRunner."""
    dask_address: str = ""
    """Dask scheduler address; empty starts a local cluster."""
    max_workers: int = 2
    """Shards rendered at once (one Blender process each)."""
    identities_per_shard: int = 2
    """Identities rendered by one Blender process."""
    identities: int = 8
    """Number of synthetic identities."""
    expressions: int = 4
    """Expressions rendered per identity (sampled plus scripted)."""
    cameras: int = 8
    """Cameras per identity, taken from the 28-camera rig."""
    width: int = 64
    """Image width in pixels."""
    height: int = 64
    """Image height in pixels."""
    samples: int = 8
    """Cycles samples per pixel."""
    texture_size: int = 256
    """Edge of the square procedural UV albedo texture (pixels)."""
    fov_deg: float = 22.0
    """Rig field of view across the shorter image side (degrees)."""
    camera_distance: float = 1.0
    """Distance of every rig camera from the head centre (metres)."""
    threads_per_worker: int = 0
    """Cycles CPU threads per render process; 0 = the machine's cores / max_workers."""
    shard_timeout_s: float = 1800.0
    """A render process running longer than this is killed and its shard fails."""


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """Real captures into ``data/captures`` (``ingest`` stage)."""

    inbox: str = "inbox"
    """Folder holding one sub-folder per subject (relative to the project root)."""
    resolution: int = 256
    """Square output resolution of normalised frames."""
    video_fps: float = 2.0
    """Frames per second sampled from videos (0 keeps every frame)."""
    max_frames: int = 24
    """At most this many frames per video / per calibrated camera and sequence, and at most
    this many photos or transforms.json frames (spread evenly over the input)."""
    box_scale: float = 1.8
    """Crop size relative to the detected face box."""
    box_lift: float = 0.1
    """Crop centre raised above the face box centre by this fraction of the face box, so that
    hair and forehead fit."""
    min_face_score: float = 0.5
    """Minimum MediaPipe face detection confidence."""
    crop: typing.Literal["camera", "frame"] = "camera"
    """camera: one crop per camera and sequence (median face box; calibrated captures always,
    from the triangulated head), so K is constant per camera; frame: each uncalibrated frame
    cropped around its own face box."""
    masks: typing.Literal["auto", "selfie", "grabcut"] = "auto"
    """Masks for views without a given one: selfie (MediaPipe selfie segmentation), grabcut
    (OpenCV GrabCut seeded by the crop layout), auto (selfie, grabcut if MediaPipe fails)."""
    fov_deg: float = 30.0
    """Field of view across the crop of the pinhole estimated for uncalibrated captures."""
    face_width_m: float = 0.15
    """Assumed face-box width in metres, placing estimated cameras at a plausible distance."""
    val_every: int = 4
    """Every n-th camera (multi-view) or frame (otherwise) gets split 'val' (0: all train)."""
    max_workers: int = 1
    """Subjects ingested at once by the flow."""
    require_consent: bool = True
    """Refuse subjects without a valid ``capture`` consent."""
    multiple_faces: typing.Literal["refuse", "largest"] = "refuse"
    """What to do when a view shows more than one face (a bystander gave no consent):
    refuse: the subject is not ingested, and the error names the file and the fix;
    largest: keep the largest face (the nearest; the most central on a tie), fill the other
    faces' heads with flat grey before anything is cropped, masked or stored, and record
    how many were removed in ``capture.json`` and the audit log (see docs/ingest.md)."""
    other_face_score: float = 0.75
    """Detection confidence from which a second face in a view counts as another person
    (for ``multiple_faces``); below it, a detection is taken for a false alarm (an upside-down
    portrait gets a 0.69 one). Real faces in the test portraits and clips score 0.91-0.98."""
    max_image_pixels: int = 100_000_000
    """Images, video frames and masks with more pixels are refused from their header, before
    decoding (decompression bombs). At most 178956970 (Pillow's own hard limit)."""
    max_metadata_bytes: int = 8388608
    """Size limit of every JSON/YAML file read from a capture (capture.yaml, transforms.json,
    calibration/camera_params.json), checked before it is read."""
    max_metadata_depth: int = 32
    """Nesting limit of those files (capture metadata needs about 5 levels), checked before
    parsing; YAML anchors/aliases are refused too."""


@dataclasses.dataclass(frozen=True)
class TrackConfig:
    """Landmarks and FLAME-format fitting (``track`` stage)."""

    detector: typing.Annotated[str, OneOf("headforge.track.detectors:DETECTORS")] = "mediapipe"
    """Landmark detector: a name registered in :data:`headforge.track.detectors.DETECTORS`
    (``headforge track detectors`` lists them and what each needs)."""
    face_alignment_weights: str = ""
    """Folder with face-alignment's weights (needed only for detector: face_alignment):
    ``2DFAN4-cd938726ad.zip`` (or ``2DFAN4-11f355bf06.pth.tar``) and ``s3fd-619a316812.pth``."""
    min_detection_confidence: float = 0.5
    """MediaPipe face-mesh detection threshold."""
    dlib_upsample: int = 1
    """Times dlib's HOG detector upsamples the image (1 finds faces down to ~40 px)."""
    landmark_cache: str = "results/cache/track_landmarks"
    """Folder of cached per-frame landmarks (relative to the project root; outside the stage's
    DVC output so reruns reuse it; entries get lineage records, so deletion finds them)."""
    runner: typing.Literal["local", "dask"] = "local"
    """local: a thread pool of ``max_workers``; dask: Prefect's DaskTaskRunner (as synth)."""
    dask_address: str = ""
    """Dask scheduler address; empty starts a local cluster of ``max_workers`` processes."""
    max_workers: int = 2
    """Subjects tracked at once."""
    steps_rigid: int = 150
    """Steps of rigid alignment from landmarks."""
    steps_landmarks: int = 300
    """Steps of shape/expression fitting to landmarks."""
    steps_dense: int = 60
    """Steps of photometric/silhouette refinement."""
    steps_joint: int = 0
    """Steps of joint camera + expression refinement (0 = off)."""
    lr: float = 0.01
    """Base Adam learning rate of the fitting stages (each stage scales it)."""
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    """Energy weights overriding ``headforge.track.fit.DEFAULT_WEIGHTS`` (term -> weight)."""
    max_error_px: float = 6.0
    """Frames whose mean landmark error exceeds this (pixels of a 256-pixel image) are
    flagged ``poor_fit``."""
    dense_resolution: int = 96
    """Pixels across at which the dense (photometric/silhouette) term renders."""
    dense_views_per_step: int = 2
    """Views rendered per dense step (a random subset; bounds the cost per step)."""
    dense_parts: list[str] = dataclasses.field(
        default_factory=lambda: ["face", "eyes", "mouth", "ears"]
    )
    """Head-model parts carrying Gaussians in the dense term (no scalp: real heads have hair)."""
    overlays: int = 6
    """QA overlay pictures per subject."""
    overlay_background: typing.Literal["image", "neutral"] = "image"
    """Draw overlays over the frame or over neutral grey (for pictures that may be shared)."""
    require_consent: bool = True
    """Refuse subjects without a valid ``capture`` consent in the registry."""


@dataclasses.dataclass(frozen=True)
class TrainPriorConfig:
    """UV-space Gaussian head prior (``train_prior`` stage)."""

    seed: int = 0
    """Random seed (initialisation and batch order; saved in checkpoints for exact resume)."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N. auto takes CUDA when torch sees it."""
    steps: int = 300
    """Optimisation steps of the base prior."""
    batch: int = 4
    """Images per step (per process under torchrun)."""
    resolution: int = 64
    """Square training render resolution; images are resized and K rescaled to it."""
    latent_dim: int = 32
    """Identity latent size."""
    uv_res: int = 32
    """Resolution of the decoded UV Gaussian maps (power of two >= 8)."""
    channels: int = 32
    """Channels of the decoder's finest level (coarser levels use up to 4x)."""
    sh_degree: int = 0
    """Spherical-harmonics degree of the colour maps (0 = view-independent RGB)."""
    expr_global: bool = False
    """Also feed the expression coefficients to the decoder's global MLP path (by default the
    expression enters only as offsets rasterised into UV, which generalises better when the
    training set holds few expressions)."""
    face_density: float = 1.0
    """Gaussians per UV texel everywhere but the scalp."""
    hair_density: float = 2.0
    """Gaussians per UV texel on the scalp (hair)."""
    max_offset: float = 0.04
    """Largest Gaussian offset from the posed surface, metres."""
    lr: float = 2e-3
    """Adam learning rate of the decoder."""
    lr_latent: float = 1e-2
    """Adam learning rate of the identity latents."""
    lr_final_ratio: float = 0.1
    """Learning rates decay exponentially to lr * lr_final_ratio at the last step."""
    w_l1: float = 1.0
    """Weight of the image L1 term."""
    w_ssim: float = 0.2
    """Weight of the (1 - SSIM) term."""
    w_mask: float = 0.5
    """Weight of the L1 between rendered alpha and the foreground mask."""
    w_offset: float = 0.01
    """Weight of the squared-offset regulariser (offsets in units of max_offset)."""
    w_scale: float = 0.1
    """Weight of the penalty on Gaussians larger than e x their sample spacing."""
    w_latent: float = 1e-3
    """Weight of the auto-decoder's squared latent norm."""
    w_lpips: float = 0.1
    """Weight of LPIPS; used only when lpips_weights names a local file."""
    lpips_weights: str = ""
    """TorchScript LPIPS file (none ships with the project: empty = the LPIPS term is skipped)."""
    checkpoint_every: int = 100
    """Write a resumable checkpoint every N steps (atomic; a killed run resumes from it)."""
    architecture: str = "uv_cnn"
    """Decoder architecture (a name in ``headforge.prior.architectures``; checkpoints record
    it and rebuild the decoder from it)."""
    encoder: bool = False
    """Train SynShot's identity encoder with the decoder (codes from unprojected photos, the
    feed-forward avatar) instead of an auto-decoder's per-identity latents only."""
    encoder_channels: int = 32
    """Channels of the encoder's first level."""
    input_views: int = 3
    """Encoder training: photos per identity, drawn from 1..input_views."""
    input_max_angle: float = 60.0
    """Encoder training: photos only from cameras within this angle of the face's front."""
    appearance_dropout: float = 0.2
    """Encoder training: probability that the photos are hidden (the code alone makes the
    head)."""
    color_jitter: float = 0.15
    """Encoder training: per-identity colour gain range (+-), applied to photos and target."""


@dataclasses.dataclass(frozen=True)
class AdaptPriorConfig:
    """Adaptation of the base prior to consented real subjects (``adapt_prior`` stage).

    The adapted prior keeps the base's architecture and training settings (``train_prior``);
    only these keys are the adaptation's own, so changing them never retrains the base.
    """

    steps: int = 40
    """Adaptation steps from the base checkpoint (0 = no adaptation: invert uses the base)."""
    lr: float = 3e-4
    """Decoder learning rate of the adaptation (latents use ``train_prior.lr_latent``)."""
    require_consent: bool = True
    """Adapt only to tracked subjects holding an active ``train_prior`` consent."""


@dataclasses.dataclass(frozen=True)
class InvertConfig:
    """Few-shot inversion by pivotal tuning (``invert`` stage)."""

    shots: int = 3
    """Input images per subject."""
    steps_latent: int = 60
    """Stage 1 step budget (latent + camera/expression corrections, network frozen)."""
    steps_decoder: int = 60
    """Stage 2 step budget (decoder fine-tuning with view regularisation)."""
    steps_per_frame: int = 10
    """Budgets grow to steps_per_frame x input frames when that is larger (SynShot: 10)."""
    lr_latent: float = 1e-2
    """Stage 1 learning rate of the latent."""
    lr_camera: float = 1e-3
    """Stage 1 learning rate of the per-view camera corrections (axis-angle, metres)."""
    lr_expr: float = 1e-2
    """Stage 1 learning rate of the per-frame expression corrections."""
    lr_decoder: float = 3e-4
    """Stage 2 learning rate of the decoder."""
    view_reg: float = 0.1
    """Weight of the view-regularisation term in stage 2."""
    reference_views: int = 8
    """Views around the head rendered from the pre-tuning avatar for view regularisation."""
    reference_expressions: int = 2
    """Probe expressions rendered from the pre-tuning avatar (first input camera) and kept by
    the same regularisation term, so tuning on one expression does not forget the others."""
    w_correction: float = 1.0
    """Weight of the squared camera/expression corrections (keeps them small)."""
    w_ssim: float = 0.2
    """Weight of the (1 - SSIM) image term (the L1 term has weight 1)."""
    w_mask: float = 0.5
    """Weight of the alpha-vs-mask term."""
    w_offset: float = 0.01
    """Weight of the squared-offset regulariser."""
    w_scale: float = 0.1
    """Weight of the oversized-Gaussian penalty."""
    early_warmup: int = 20
    """Steps before early stopping is considered."""
    early_patience: int = 15
    """Steps without EMA improvement before a stage stops."""
    resolution: int = 128
    """Render resolution during inversion (capped at the input images' size)."""
    baseline_lr: float = 1e-2
    """Adam learning rate of the no-prior baseline's free Gaussian parameters."""
    photo_colours: bool = True
    """Unproject the input photos into UV space and blend their colours into the Gaussians
    (the decoder's skip path); the prior fills what the photos did not see."""
    turntable_frames: int = 24
    """Frames of the turntable GIF."""
    input_max_angle: float = 60.0
    """Synthetic inputs are chosen among cameras within this angle (degrees) of the face's
    forward direction (few-shot photos are taken from the front); the rest are novel views."""
    synthetic_subjects: bool = True
    """Also invert the held-out synthetic identities (``shots`` views of one expression)."""
    test_frames: int = 4
    """Last frames of a real clip never used as inputs (evaluate scores them); inputs are
    picked from the rest by ``input_rule``."""
    input_rule: typing.Literal["calm_views", "expression_spread"] = "calm_views"
    """How a real clip's inputs are chosen (:func:`headforge.invert.views.pick_frames`):
    ``calm_views`` the calmest, most frontal frame, then frames far apart in head pose among
    the calmer half; ``expression_spread`` farthest-point sampling in expression space."""
    runner: typing.Literal["local", "dask"] = "local"
    """local: a thread pool of ``max_workers``; dask: Prefect's DaskTaskRunner (as track)."""
    dask_address: str = ""
    """Dask scheduler address; empty starts a local cluster of ``max_workers`` processes."""
    max_workers: int = 1
    """Subjects inverted at once (each gets cpu_count / max_workers torch threads). 1 keeps
    the prior and its wall-time-matched baseline on the same cores as when measured."""


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    """Metrics on held-out identities (``evaluate`` stage)."""

    held_out: int = 2
    """Synthetic identities never seen by the prior (train_prior leaves them out; invert and
    evaluate use them). Ignored when the synth manifest marks subjects with split == test."""
    grid_views: int = 4
    """Novel views per subject shown in the image grids."""


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """The benchmark: methods compared on a suite of real captures (``benchmark`` stage).

    The protocol (which frames go in, which are scored) is in the suite file and
    docs/benchmark.md; this section picks the suite, the methods and their budgets."""

    suite: str = "default"
    """Suite name: ``suites/<suite>.yaml`` under the project root."""
    methods: list[str] = dataclasses.field(default_factory=lambda: ["prior", "encoder", "baseline"])
    """Methods compared, names from ``headforge.evaluate.methods.METHODS``."""
    prior_checkpoint: str = "results/train_prior/base/prior.pt"
    """Trained prior the methods start from (relative to the project root)."""
    realdata: str = ""
    """Folder of the real clips; empty: the suite's ``realdata`` (``../shared/realdata``,
    relative to the project root's parent folder's ``shared/``)."""
    resolution: int = 128
    """Pixels across at which avatars are fitted, rendered and scored."""
    budgets: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    """method -> its budget (``prior``: ``steps_latent``, ``steps_decoder``; ``baseline``:
    ``steps``); missing keys come from the ``invert`` section."""
    lpips_weights: str = ""
    """TorchScript LPIPS file (relative to the root); empty: LPIPS is not scored."""
    track_steps_dense: int = 0
    """Dense steps of the tracker run on renders and ground truth for AED/APD (0: landmark
    fitting only, the same for both)."""
    threads: int = 2
    """torch CPU threads."""


@dataclasses.dataclass(frozen=True)
class RetentionConfig:
    """Scheduled sweeps of expired consents."""

    schedule: str = "0 3 * * *"
    """Cron schedule of the retention deployment."""
    derived_days: int = 30
    """Days derived artifacts are kept after capture consent, unless a consent says otherwise."""
    scope_days: dict[str, int] = dataclasses.field(default_factory=dict)
    """Per consent scope (``capture``, ``train_prior``, ``avatar``): days a consent without its
    own end date (expiry or retention_days) lasts; scopes not listed use ``derived_days``."""
    scope_stages: dict[str, list[str]] = dataclasses.field(
        default_factory=lambda: {"train_prior": ["train_prior", "adapt_prior"],
                                 "avatar": ["invert", "evaluate", "report"]})
    """Stages whose artifacts a consent scope covers; when only that scope ends, forget removes
    just the subject's artifacts of these stages (``capture`` always means everything)."""
    model_stages: list[str] = dataclasses.field(
        default_factory=lambda: ["train_prior", "adapt_prior"])
    """Stages whose multi-subject artifacts are models: deleted and queued for retraining."""
    scan_paths: list[str] = dataclasses.field(
        default_factory=lambda: ["inbox", "data", "results", "logs", "dvclive"])
    """Workspace folders (relative to the project root) scanned for the subject's files, names
    and embedded images. Source code is never scanned."""
    hash_only_paths: list[str] = dataclasses.field(default_factory=lambda: ["data/synth"])
    """Folders checked by path and hash only (synthetic data: no content scan, faster)."""
    journal_dir: str = "registry/forget"
    """Where forget keeps its crash-recovery journals and audit salt (never scanned)."""
    max_scan_mb: int = 512
    """Files larger than this are checked by path and hash only."""
    retrain_after_forget: bool = False
    """Run ``dvc repro`` of the queued model stages at the end of a forget."""
    approval_timeout_s: int = 86400
    """How long a forget deployment run waits paused for approval before giving up."""


@dataclasses.dataclass(frozen=True)
class RegenerateConfig:
    """Scheduled synthetic-data refresh."""

    schedule: str = "0 2 * * *"
    """Cron schedule of the regenerate deployment."""
    push: bool = True
    """dvc push after regenerating."""
    downstream: bool = False
    """Also rerun the stages that depend on synth."""


# the loader lives in headforge.params_loader; callers import all of it from here
__all__ = [
    "PROFILES",
    "ConfigError",
    "active_profile",
    "build",
    "load_section",
    "read_params",
    "section_values",
    "PathsConfig",
    "HeadModelConfig",
    "RenderConfig",
    "SynthConfig",
    "IngestConfig",
    "TrackConfig",
    "TrainPriorConfig",
    "AdaptPriorConfig",
    "InvertConfig",
    "EvaluateConfig",
    "BenchmarkConfig",
    "RetentionConfig",
    "RegenerateConfig",
]
