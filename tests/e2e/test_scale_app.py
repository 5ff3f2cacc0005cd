"""The app on a Parquet dataset folder run on Dask: box select, drag, apply, in chromium.

The Session holds a 1,500-row sample; the cloud, the selection's count and the edit's ids
cover all 6,000 rows (3 partitions), computed per partition on an existing Dask cluster
the page connects to by address (`--scheduler`). The cluster's workers are threads of this
process, so the test pays for no worker processes importing torch; `hill-viz bench scale`
measures worker processes.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hill_viz.bench.browser import wait_until
from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Selector
from hill_viz.session import Session

N, SAMPLE = 6_000, 1_500

_spec = importlib.util.spec_from_file_location("e2e_app_helpers", Path(__file__).with_name("test_app.py"))
_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_app)  # the browser gestures of test_app (this folder is no package)
VIEW, box_select, calibrate, choose_tool, drag, handle_drawn_at = (
    _app.VIEW, _app.box_select, _app.calibrate, _app.choose_tool, _app.drag, _app.handle_drawn_at)


@pytest.fixture
def folder(tmp_path):
    import pandas as pd

    ds = load_dataset("blobs", n=N, seed=2, dim=6)
    table = pd.DataFrame(ds.features, columns=[f"f{j}" for j in range(ds.n_features)])
    table["label"], table["split"], table["id"] = ds.labels, ds.split, ds.ids
    folder = tmp_path / "data"  # beside the workspaces: their latents are Parquet files too
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(N), 3)):
        table.iloc[rows].to_parquet(folder / f"part-{k}.parquet", index=False)
    return folder


@pytest.fixture
def scheduler():
    """An existing cluster on a loopback port: 2 single-threaded workers."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def dask_app(tmp_path, folder, scheduler, serve_apps):
    with serve_apps(lambda k: Session(tmp_path / f"ws-{k}", scheduler=scheduler, sample=SAMPLE),
                     path=str(folder), n=None, pretrain_epochs=0) as served_pages:
        yield served_pages


@pytest.mark.timeout(600)  # every wait below is bounded too; this bounds the whole
def test_box_select_edit_apply_on_dask(page, dask_app, artifacts):
    url, apps = dask_app
    page.goto(url, timeout=120_000)
    wait_until(lambda: any(a.loaded.is_set() for a in apps), 120, "the page to open", page)
    (app,) = [a for a in apps if a.loaded.is_set()]
    session = app.session
    # the first model is shown once its latents over every partition are in (big_frame)
    wait_until(lambda: app.ready.is_set() and session.big_frame is not None and session.status == "ready",
               180, "the first model and the whole folder's latents", page)
    assert session.big_frame is not None and len(session.big_frame) == N and session.dataset.n_samples == SAMPLE
    page.locator(f"{VIEW} .bk-events").first.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1500)
    assert "engine: dask" in app.latent_view.status.object

    pixels = calibrate(page, app.latent_view)
    x0, x1, y0, y1 = session.frame.extent()
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    box_select(page, session, pixels.to_page(box[0], box[3]), pixels.to_page(box[2], box[1]))
    drawn = session.selector
    from hill_viz.scale import selected_ids

    every = selected_ids(session.big_frame, drawn)
    assert session.selection_count == len(every) > len(session.selection) > 0
    wait_until(lambda: f"{len(every):,}" in app.latent_view.status.object, 10, "the count in the status", page)

    tools = app.edit_tools
    wait_until(lambda: tools.shown[0] is session.selection and tools.anchor is not None, 30, "the edit tools", page)
    start = np.array(tools.anchor)
    wait_until(lambda: handle_drawn_at(page, pixels.to_page(*start)), 30, "the handle in the browser", page)
    target = start + np.array([0.25 * (x1 - x0), 0.0])
    choose_tool(page, "point-draw")
    drag(page, pixels.to_page(*start), pixels.to_page(*target))
    wait_until(lambda: len(session.pending) == 1, 30, "the translate edit", page)
    added = [e for e in session.workspace.store.events() if e.kind == "edit_added"]
    assert added[0].params["ids"] == every.tolist()  # every row's ids, materialized for the edit
    page.screenshot(path=str(artifacts / "scale-app-before-apply.png"), full_page=True)

    page.get_by_role("button", name="Apply edits").click()
    wait_until(lambda: len(session.teachers) == 1, 60, "the teacher", page)
    wait_until(lambda: session.status == "ready" and session.trainer.epoch > 0, 180, "epochs with the edit", page)
    train_ids = session.dataset.ids[session.dataset.indices("train")]
    assert session.teachers[0].n_covered == np.isin(every, train_ids).sum() > 0  # the sample's training rows
    assert isinstance(drawn, Selector) and not [m for level, m in app.actions.messages if level == "error"]
    page.screenshot(path=str(artifacts / "scale-app-after-apply.png"), full_page=True)
