"""EditBiasJob: one capture, one predicted and one measured report, the same as the parts."""
import copy
from dataclasses import replace

import numpy as np
import torch

from hill_viz.core.bias import BiasConfig, BiasThresholds, EditTargets, measure_report, predict_report
from hill_viz.core.bias_job import EditBiasJob
from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core.teacher import Teacher
from hill_viz.core.training import TrainConfig, Trainer

SMALL = BiasConfig(n_reference=400, n_eval=200, n_probe=200, n_distortion=100)


def indicators(report):
    return [(i.key, i.value, i.baseline, i.severity) for i in report.indicators]


def test_a_job_predicts_on_its_capture_and_measures_the_trained_model():
    ds = load_dataset("digits-shortcut", n=900, seed=0)
    trainer = Trainer(build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=8, arch="mlp"), 0),
                      TrainConfig(batch_size=64))
    trainer.fit(ds, 1)
    model = trainer.model
    proj = Projection().fit(infer(model, ds.features, ds.indices("train"))[0])
    frame = LatentFrame.build(model, proj, ds)
    edits = [Edit.merge(Selector.of_label(5), Selector.of_label(6)).resolve(frame.context())]
    job = EditBiasJob.capture(edits, [7], model, ds, proj, frame, SMALL)
    before = copy.deepcopy(model)
    view = np.c_[frame.column("x"), frame.column("y")]
    targets = EditTargets.from_edits(edits, ds, before, proj, view, seed=SMALL.seed)

    trainer.fit(ds, 1, teachers=[Teacher(model, ds, proj, edits)])  # training goes on after the capture
    assert not torch.equal(next(model.parameters()), next(job.model.parameters()))
    predicted = job.predict()
    assert predicted.phase == "predicted" and predicted.edit_ids == (7,)
    assert indicators(predicted) == indicators(predict_report(before, ds, proj, targets, [7], SMALL))
    measured = job.measure(model)
    assert measured.phase == "measured"
    assert indicators(measured) == indicators(measure_report(before, model, ds, proj, targets, [7], SMALL))
    assert job.targets is job.targets  # computed once for both phases


def test_the_control_is_the_same_training_without_the_edits_and_an_edit_free_run_measures_nothing():
    ds = load_dataset("tabular-shortcut", n=900, seed=0)
    trainer = Trainer(build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=8, arch="mlp"), 0),
                      TrainConfig(batch_size=64, seed=3))
    trainer.fit(ds, 1)
    model = trainer.model
    proj = Projection().fit(infer(model, ds.features, ds.indices("train"))[0])
    frame = LatentFrame.build(model, proj, ds)
    edits = [Edit.translate(Selector.of_label(2), 0.5, 0.0).resolve(frame.context())]
    other = Teacher(model, ds, proj, [Edit.contract(Selector.of_label(1), 0.5).resolve(frame.context())])
    job = EditBiasJob.capture(edits, [1], model, ds, proj, frame, SMALL, trainer, [other])
    assert EditBiasJob.capture(edits, [1], model, ds, proj, frame, SMALL).train_control(1) is None  # no trainer
    # the live run: the teacher already in force, no new edit (so it must equal the control exactly)
    trainer.fit(ds, 1, teachers=[other])
    control = job.train_control(1)
    for a, b in zip(control.parameters(), model.parameters()):
        assert torch.equal(a, b)
    assert job.train_control(0) is None
    report = job.measure(model, control)
    assert report.sizes["baseline"] == "control" and report.severity == "ok"
    graded = [i for i in report.indicators if not i.context and i.harm is not None]
    assert graded and all(abs(i.harm) < 1e-9 for i in graded)
    conflict = report.get("label_conflict")  # graded against the control's own-label neighbour shares
    assert conflict.details["own_share_control"] == conflict.details["own_share_after"]
    assert "without it" in conflict.explanation
    # every measured indicator is graded with the measured levels (here: any leakage change warns)
    strict = replace(SMALL, measured_thresholds=BiasThresholds(leakage=(-1.0, None)))
    assert replace(job, config=strict).measure(model, control).get("attribute_leakage").severity == "warn"
    # without a control, the same run is measured against the model before: the epoch's drift shows
    drift = job.measure(model)
    assert drift.sizes["baseline"] == "before"
    assert any(abs(i.harm) > 1e-3 for i in drift.indicators if not i.context and i.harm is not None)
