"""The relational reading of a merge: positives only across the merge's two selections."""
import numpy as np
import pytest
import torch

from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core.teacher import Teacher, TeacherConfig, _supcon
from hill_viz.errors import ConfigError


@pytest.fixture(scope="module")
def setup():
    ds = load_dataset("digits-shortcut", n=1000, seed=0)
    model = build_model(ModelSpec(ds.n_features, ds.n_classes, image_shape=ds.image_shape, arch="mlp"), 0)
    proj = Projection().fit(infer(model, ds.features, ds.indices("train"))[0])
    ctx = LatentFrame.build(model, proj, ds).context()
    minority = Selector.all_of(Selector.of_label(3), Selector.of_attribute("cue", "5"))
    majority = Selector.all_of(Selector.of_label(3), Selector.of_attribute("cue", "3"))
    merge = Edit.merge(minority, onto=majority).resolve(ctx)
    return ds, model, proj, merge


def test_a_merge_makes_one_group_of_two_origins(setup, tmp_path):
    ds, model, proj, merge = setup
    t = Teacher(model, ds, proj, [merge], TeacherConfig(relational=1.0, positives="across"))
    ids = ds.ids[t.rows]
    from_minority = np.isin(ids, merge.ids)
    assert from_minority.any() and (~from_minority).any()
    assert len(np.unique(t.group)) == 1
    assert set(t.origin[from_minority]) != set(t.origin[~from_minority])
    t.save(tmp_path / "t.npz")
    u = Teacher.load(tmp_path / "t.npz", proj, t.config)
    np.testing.assert_array_equal(u.origin, t.origin)


def test_across_positives_ignore_same_origin_pairs():
    torch.manual_seed(0)
    z = torch.randn(12, 4)
    group = torch.zeros(12, dtype=torch.long)
    one_origin = torch.zeros(12, dtype=torch.long)
    assert float(_supcon(z, group, 0.2, one_origin)) == 0.0  # no pair from another selection
    assert float(_supcon(z, group, 0.2)) > 0.0              # "group": every mate is a positive


def test_across_loss_pulls_the_two_selections_together():
    torch.manual_seed(1)
    a = torch.randn(8, 4) + torch.tensor([3.0, 0, 0, 0])
    b = torch.randn(8, 4) - torch.tensor([3.0, 0, 0, 0])
    other = torch.randn(8, 4) + torch.tensor([0, 3.0, 0, 0])
    z = torch.cat([a, b, other]).requires_grad_(True)
    group = torch.tensor([0] * 16 + [1] * 8)
    origin = torch.tensor([0] * 8 + [1] * 8 + [2] * 8)

    def gap(v):
        zn = torch.nn.functional.normalize(v, dim=1)
        return float((zn[:8].mean(0) - zn[8:16].mean(0)).norm())

    before = gap(z.detach())
    _supcon(z, group, 0.2, origin).backward()
    after = gap((z - 0.5 * z.grad).detach())
    assert after < before


def test_positives_are_checked():
    with pytest.raises(ConfigError, match="positives must be one of group, across"):
        TeacherConfig(positives="sideways")


def test_the_default_teacher_is_the_evidence_backed_one_and_says_what_it_teaches():
    cfg = TeacherConfig()
    assert (cfg.lambda_, cfg.relational, cfg.positives, cfg.mode) == (0.1, 1.0, "across", "projected")
    assert cfg.reading("merge") == "merge: pulls A's view positions onto B's, A's latents attract B's (contrastive)"
    assert "contrastive" not in cfg.reading("separate") and "contrastive" not in cfg.reading("translate")
    assert "repel" in TeacherConfig(positives="group").reading("separate")
    assert TeacherConfig(relational=0.0).reading("merge") == "merge: pulls A's view positions onto B's"
    line = cfg.teaches(["merge", "pin", "merge"])
    assert line.count("merge:") == 1 and "pin: holds A" in line and "positives across" in line
    assert cfg.teaches([]) == "no pending edits"
