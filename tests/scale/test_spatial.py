"""A frame sorted along a Hilbert curve, and selections that skip blocks: the same answers, less work."""
import json
from dataclasses import replace

import numpy as np
import pytest

from hill_viz.core.edits import Selector
from hill_viz.core.geometry import INSIDE, MIXED
from hill_viz.errors import WorkspaceError
from hill_viz.scale import select
from hill_viz.scale.frame import META_FILE, open_frame
from hill_viz.scale.spatial import hilbert_keys, sort_spatially

from .conftest import lasso
from .test_select import _selectors


@pytest.fixture(scope="module")
def sorted_lazy(dask_frame, tmp_path_factory):
    """Read from its folder by every selection."""
    return sort_spatially(dask_frame, tmp_path_factory.mktemp("spatial") / "hilbert", part_rows=15_000, block_rows=500)


@pytest.fixture(scope="module")
def sorted_frame(sorted_lazy):
    """Held by the workers."""
    return sorted_lazy.persist()


def test_sorted_frame_holds_the_same_rows_in_compact_blocks(sorted_frame, memory_frame):
    assert sorted_frame.npartitions == 4 and len(sorted_frame) == len(memory_frame)
    rows = sorted_frame.to_latent_frame()
    order = np.argsort(rows.column("id"))
    for name in ("id", "x", "y", "label", "pred", "group", "confidence"):
        np.testing.assert_array_equal(rows.column(name)[order], memory_frame.column(name))
    blocks = sorted_frame.blocks
    assert blocks.part_rows().sum() == len(memory_frame) and blocks.finite.all()
    x0, x1, y0, y1 = memory_frame.extent()
    area = (blocks.bounds[:, 1] - blocks.bounds[:, 0]) * (blocks.bounds[:, 3] - blocks.bounds[:, 2])
    assert np.median(area) < 0.05 * (x1 - x0) * (y1 - y0)  # compact: a source-order block spans the cloud


@pytest.mark.parametrize("k", range(6))
def test_pruned_selection_equals_unpruned_and_in_memory(sorted_frame, sorted_lazy, memory_frame, k):
    selector = _selectors(memory_frame)[k]
    unpruned = replace(sorted_frame, blocks=None)
    expected = selector.resolve(memory_frame.context())
    for frame in (sorted_frame, unpruned, sorted_lazy):
        np.testing.assert_array_equal(select.selected_ids(frame, selector), expected)
    a = select.summarize(sorted_frame, selector, sample_size=40, seed=3)
    b = select.summarize(unpruned, selector, sample_size=40, seed=3)
    assert a.count == b.count == len(expected)
    for name in memory_frame.categorical_columns:
        np.testing.assert_array_equal(a.breakdowns[name], b.breakdowns[name])
    assert a.sample.df.equals(b.sample.df)
    assert a.sample.df.equals(select.summarize(sorted_lazy, selector, sample_size=40, seed=3).sample.df)


def test_box_and_lasso_skip_blocks_and_partitions(sorted_frame, memory_frame):
    poly = lasso(memory_frame.extent())
    for selector in (Selector.of_lasso(poly), _selectors(memory_frame)[0]):
        states = selector.states(sorted_frame.blocks.bounds)
        assert (states == INSIDE).any() and (states != MIXED).sum() > len(states) // 2  # most skip the test
    x0, x1, y0, y1 = memory_frame.extent()
    corner = Selector.of_box(x0, y0, x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4)
    tested = select._parts_to_test(sorted_frame, corner)
    assert 0 < len(tested) < sorted_frame.npartitions  # some partitions get no task at all
    every_run = [r for _, (_, runs) in tested for r in runs]
    assert sum(stop - start for start, stop, _ in every_run) < len(memory_frame) // 2
    nowhere = Selector.of_box(x1 + 1, y1 + 1, x1 + 2, y1 + 2)
    assert select._parts_to_test(sorted_frame, nowhere) == []
    empty = select.summarize(sorted_frame, nowhere, sample_size=10)
    assert empty.is_empty and len(empty.sample) == 0 and all(not b.any() for b in empty.breakdowns.values())


def test_block_index_of_a_source_order_frame_changes_nothing(dask_frame, memory_frame):
    """write_latents stores blocks too (compact or not); recomputing them on the cluster gives the same."""
    indexed = replace(dask_frame, blocks=None).with_blocks(block_rows=700)
    selector = Selector.all_of(Selector.of_lasso(lasso(memory_frame.extent())), Selector.of_label(1))
    expected = selector.resolve(memory_frame.context())
    for frame in (dask_frame, indexed):
        np.testing.assert_array_equal(select.selected_ids(frame, selector), expected)
    stored = dask_frame.blocks
    assert stored is not None and stored.part_rows().sum() == len(memory_frame)


def test_hilbert_keys_walk_every_cell_once_through_neighbours():
    g = np.arange(8, dtype=np.float32) + 0.5
    x, y = (a.ravel() for a in np.meshgrid(g, g))
    keys = hilbert_keys(x, y, (0, 8, 0, 8), bits=3)
    assert sorted(keys.tolist()) == list(range(64))
    order = np.argsort(keys)
    steps = np.abs(np.diff(x[order])) + np.abs(np.diff(y[order]))
    assert (steps == 1).all()
    odd = hilbert_keys(np.array([np.nan, 100.0, -5.0], np.float32), np.array([0.5, 0.5, np.inf], np.float32),
                       (0, 8, 0, 8), bits=3)
    assert odd[0] == odd[2] == 64 and 0 <= odd[1] < 64  # non-finite last; outside clamps to the border


def test_open_frame_rejects_blocks_that_miss_rows(sorted_frame, tmp_path):
    folder = tmp_path / "copy"
    assert sort_spatially(sorted_frame, folder, block_rows=5000).blocks is not None
    meta = json.loads((folder / META_FILE).read_text())
    meta["blocks"]["stop"][0] -= 1
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(WorkspaceError, match="blocks do not cover"):
        open_frame(folder)
