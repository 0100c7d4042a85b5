"""Feed-forward avatars from the identity encoder, and what each tuning phase may change."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch

from headforge.invert.bundle import load_bundle
from headforge.invert.core import invert
from headforge.invert.feedforward import feedforward_avatar
from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
from headforge.prior.data import read_manifest
from headforge.prior.stage import load_head
from headforge.prior.train import train
from tests.prior.helpers import HEAD, TINY_INVERT, TINY_TRAIN, held_out, training_views

ENC_TRAIN = dataclasses.replace(TINY_TRAIN, encoder=True, encoder_channels=4)


@pytest.fixture(scope="module")
def encoder_ckpt(heads_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    views, _ = training_views(heads_manifest, ENC_TRAIN)
    head, parts = load_head(HEAD)
    return train(ENC_TRAIN, views, tmp_path_factory.mktemp("enc"), head, parts).checkpoint


def _digest(tensors: list[torch.Tensor]) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def _inputs(manifest: Path):
    df = read_manifest(manifest)
    return synthetic_subject_inputs(df, held_out(manifest)[0], TINY_INVERT, manifest.parent)


def test_feedforward_avatar_uses_the_encoder_and_the_photos(heads_manifest: Path,
                                                            encoder_ckpt: Path) -> None:
    prior = load_prior(encoder_ckpt, HEAD, "cpu")
    assert prior.encoder is not None
    chosen = _inputs(heads_manifest)
    before = _digest(list(prior.parameters()))
    ff = feedforward_avatar(prior, chosen.inputs)
    assert _digest(list(prior.parameters())) == before
    with torch.no_grad():
        want = prior.encode(ff.appearance.encoder_input())[0]
    torch.testing.assert_close(ff.avatar.latent, want)
    assert not torch.allclose(ff.avatar.latent, prior.mean_latent())
    assert ff.seconds > 0 and float(ff.appearance.conf.max()) > 0.5
    inp = chosen.inputs
    p = {k: v[:1] for k, v in inp.params.items()}
    h, w = inp.resolution
    with_photo = ff.avatar.render(p, inp.K[:1], inp.w2c[:1], w, h).rgb
    plain = feedforward_avatar(prior, inp, photo_colours=False).avatar
    without = plain.render(p, inp.K[:1], inp.w2c[:1], w, h).rgb
    m = inp.masks[:1] > 0.5
    err_with = (with_photo - inp.images[:1]).abs()[m.expand(-1, -1, -1, 3)].mean()
    err_without = (without - inp.images[:1]).abs()[m.expand(-1, -1, -1, 3)].mean()
    assert err_with < err_without  # the photo's colours make a seen view closer


def test_the_two_phases_change_only_what_they_should(heads_manifest: Path,
                                                     encoder_ckpt: Path) -> None:
    prior = load_prior(encoder_ckpt, HEAD, "cpu")
    chosen = _inputs(heads_manifest)
    everything = list(prior.parameters())
    before = _digest(everything)
    ff = feedforward_avatar(prior, chosen.inputs)
    one = invert(prior, chosen.inputs, dataclasses.replace(TINY_INVERT, steps_latent=3,
                                                           steps_decoder=0))
    assert _digest(everything) == before  # prior: decoder, encoder, codes
    assert _digest(list(one.avatar.decoder.parameters())) == _digest(
        list(prior.decoder.parameters()))  # phase 1 leaves the decoder
    assert not torch.equal(one.avatar.latent, ff.avatar.latent)  # and moves the code
    assert one.feedforward is not None
    torch.testing.assert_close(one.feedforward.latent, ff.avatar.latent)
    torch.manual_seed(0)
    two = invert(prior, chosen.inputs, dataclasses.replace(TINY_INVERT, steps_latent=3,
                                                           steps_decoder=3))
    assert _digest(everything) == before
    torch.testing.assert_close(two.avatar.latent, one.avatar.latent)  # phase 2 fixes the code
    assert _digest(list(two.avatar.decoder.parameters())) != _digest(
        list(prior.decoder.parameters()))  # and tunes the decoder copy


def test_bundle_keeps_the_photo_colours(heads_manifest: Path, encoder_ckpt: Path,
                                        tmp_path: Path) -> None:
    prior = load_prior(encoder_ckpt, HEAD, "cpu")
    chosen = _inputs(heads_manifest)
    out = invert_subject(prior, chosen, TINY_INVERT, tmp_path / "b", "s", encoder_ckpt,
                         baseline=False)
    assert (out / "appearance.pt").is_file()
    loaded = load_bundle(out, prior)
    assert loaded.avatar.appearance is not None
    inp = chosen.inputs
    p = {k: v[:1] for k, v in inp.params.items()}
    g = loaded.avatar.gaussians(p)
    conf = loaded.avatar.appearance.conf[0, :, 0] > 0.99
    torch.testing.assert_close(g.colors[0, conf], loaded.avatar.appearance.color[0, conf],
                               atol=0.05, rtol=0)
