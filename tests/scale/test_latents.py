"""Latents per partition on the cluster: the in-memory frame, written as a Parquet frame folder."""
import json

import numpy as np
import pandas as pd
import pytest

from hill_viz.errors import WorkspaceError
from hill_viz.scale.frame import META_FILE, open_frame
from hill_viz.scale.latents import latent_frame, write_latents


def test_frame_is_the_in_memory_frame_bit_for_bit(dask_frame, memory_frame):
    # same LatentFrame.build per partition; torch's CPU matmul gives each row the same bits
    # whatever the batch it is in and the thread count (checked here, on this machine's kernels)
    got = dask_frame.to_latent_frame()
    pd.testing.assert_frame_equal(got.df, memory_frame.df, check_exact=True)
    assert dask_frame.extent() == memory_frame.extent()
    # the files store label codes, so the folder's classes are named '0'.. where blobs says 'c0'..
    assert dask_frame.class_names == tuple(c[1:] for c in memory_frame.class_names)
    assert dask_frame.attribute_categories == memory_frame.attribute_categories
    assert dask_frame.npartitions == 3 and len(dask_frame) == len(memory_frame)


def test_lazy_frame_computes_the_same(source, model_and_projection, memory_frame):
    lazy = latent_frame(source, *model_and_projection)
    pd.testing.assert_frame_equal(lazy.df.compute().reset_index(drop=True), memory_frame.df, check_exact=True)


def test_progress_and_replacing_a_frame_folder(source, model_and_projection, tmp_path):
    calls = []
    folder = tmp_path / "latents"
    write_latents(source, *model_and_projection, folder, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["part_rows"] == [p.n_rows for p in source.parts] and meta["source"]["folder"]
    again = write_latents(source, *model_and_projection, folder)  # replaces the folder whole
    assert len(list(folder.glob("part-*.parquet"))) == 3 and len(again) == source.n_samples
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_open_frame_refuses_what_is_not_a_frame_folder(tmp_path, dask_frame):
    with pytest.raises(WorkspaceError, match="is not a latent frame folder"):
        open_frame(tmp_path)
    (tmp_path / META_FILE).write_text(json.dumps({"format": 99}))
    with pytest.raises(WorkspaceError, match="format 99"):
        open_frame(tmp_path)
