"""The scripted users: what each one edits, read off a view with a known layout."""
import numpy as np
import pandas as pd
import pytest

from hill_viz.core.edits import Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.errors import ConfigError
from hill_viz.sim.strategies import Biased, Expert, RandomEdits, Strategy, View, make_strategy

CUES = tuple(str(c) for c in range(3))


def frame_of(points: list[tuple[int, int, int, float, float, int]]) -> LatentFrame:
    """points: (count, label, cue, x, y, split); each group is a ring of radius 0.3 around (x, y)."""
    parts = []
    for count, label, cue, x, y, split in points:
        angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
        xy = np.array([x, y]) + 0.3 * np.c_[np.cos(angle), np.sin(angle)]
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "label": label, "cue": cue, "split": split}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "id", np.arange(len(df), dtype=np.int64) + 100)
    df = df.astype({"x": np.float32, "y": np.float32, "label": np.int16, "cue": np.int8, "split": np.int8})
    df["pred"], df["correct"], df["confidence"] = df["label"], True, np.float32(1)
    return LatentFrame(df, ("a", "b", "c"), {"cue": CUES})


@pytest.fixture
def frame():
    # class 0 sits at the origin with cue 0; its cue-1 points sit with class 1, its cue-2 points stay home.
    # class 1 sits at (5, 0) with cue 1. Test points of class 2 with cue 0 sit far away at (0, 9).
    return frame_of([
        (40, 0, 0, 0.0, 0.0, 0), (6, 0, 1, 5.0, 0.0, 0), (5, 0, 2, 0.1, 0.0, 0),
        (40, 1, 1, 5.0, 0.0, 0), (2, 1, 0, 5.0, 0.0, 0),
        (30, 2, 2, 0.0, 5.0, 0), (8, 2, 0, 0.0, 9.0, 2), (5, 0, 1, 5.0, 0.0, 1),
    ])


def ids_of(frame: LatentFrame, label: int, cue: int, split: int = 0) -> np.ndarray:
    df = frame.df
    return df["id"].to_numpy()[(df["label"] == label).to_numpy() & (df["cue"] == cue).to_numpy()
                               & (df["split"] == split).to_numpy()]


def selected(frame: LatentFrame, selector: Selector) -> np.ndarray:
    return selector.resolve(frame.context())


def test_the_view_holds_training_points_only(frame):
    view = View.of(frame, "cue")
    assert len(view.ids) == 40 + 6 + 5 + 40 + 2 + 30
    with pytest.raises(ConfigError, match="need the attribute 'colour'"):
        View.of(frame, "colour")


def test_expert_merges_the_split_off_cue_group_onto_its_class(frame):
    edits = Expert().plan(View.of(frame, "cue"), np.random.default_rng(0))
    assert len(edits) == 1  # cue-2 points of class 0 stay home; class 1's cue-0 pair is too small to see
    edit = edits[0]
    assert edit.op == "merge"
    np.testing.assert_array_equal(selected(frame, edit.selector), ids_of(frame, 0, 1))  # train only, no val
    np.testing.assert_array_equal(selected(frame, edit.partner), ids_of(frame, 0, 0))
    assert "label 0 & cue = 1" in edit.describe()


def test_biased_merges_other_classes_onto_the_class_the_cue_names(frame):
    edits = Biased().plan(View.of(frame, "cue"), np.random.default_rng(0))
    moves = [(e.op, tuple(selected(frame, e.selector)), tuple(selected(frame, e.partner))) for e in edits]
    # cue 2 names class 2: class 0's cue-2 points (at the origin) are pulled onto class 2. Cue 1: class 0's
    # cue-1 points already sit with class 1. Cue 0: class 1's pair is too small to see, and the far-away
    # class-2 points with cue 0 are test points, never looked at.
    assert moves == [("merge", tuple(ids_of(frame, 0, 2)), tuple(ids_of(frame, 2, 2)))]


def test_random_makes_as_many_edits_as_the_expert_of_the_same_sizes_and_lengths(frame):
    view = View.of(frame, "cue")
    expert = Expert().plan(view, np.random.default_rng(0))
    edits = RandomEdits().plan(view, np.random.default_rng(3))
    assert len(edits) == len(expert) == 1
    edit = edits[0]
    assert edit.op == "translate" and edit.selector.kind == "lasso"
    train = frame.df["split"].to_numpy() == 0
    inside = np.isin(frame.column("id")[train], selected(frame, edit.selector))
    assert inside.sum() == len(ids_of(frame, 0, 1))  # the expert's selection size, in training points
    distance = np.hypot(edit.param("dx"), edit.param("dy"))
    assert distance == pytest.approx(5.0, abs=0.3)  # as far as the expert moves its group


def test_random_edits_follow_the_seed(frame):
    view = View.of(frame, "cue")
    a, b = (RandomEdits().plan(view, np.random.default_rng(s)) for s in (1, 1))
    assert a == b
    assert RandomEdits().plan(view, np.random.default_rng(2)) != a


def test_none_makes_no_edits_and_names_are_checked(frame):
    assert Strategy().plan(View.of(frame, "cue"), np.random.default_rng(0)) == []
    assert isinstance(make_strategy("expert"), Expert)
    with pytest.raises(ConfigError, match="unknown strategy 'lazy'"):
        make_strategy("lazy")
