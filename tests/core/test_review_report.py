"""The HTML review report and the per-edit review data it is made from."""
import re

import numpy as np

from hill_viz.core.edit_review import edit_reviews, shared_bounds, snapshot_png
from hill_viz.core.provenance import Workspace
from hill_viz.core.review_report import write_review_report


def test_every_edit_with_its_bias_reports_and_snapshots(workspace_copy, tmp_path):
    ws = Workspace(workspace_copy, create=False)
    added = ws.store.events(("edit_added",))
    reviews = edit_reviews(ws)
    assert [r.edit_id for r in reviews] == [int(e.params["edit_id"]) for e in added] == [1, 2]
    for r in reviews:
        assert r.status == "applied" and r.on_head and len(r.ids) > 0
        assert r.report("predicted") is not None and r.report("measured") is not None
        assert r.snapshot_event is not None
    path = write_review_report(ws, tmp_path / "review.html")
    text = path.read_text()
    for r in reviews:
        assert f"<tr class='edit-row' data-edit='{r.edit_id}'>" in text and r.description in text
    assert text.count("<img") == 2 * len(reviews)
    assert not re.search(r"(src|href)=['\"]https?:", text)  # self-contained
    assert "<script" not in text
    ws.close()


def test_a_review_comment_appears_beside_its_edit(workspace_copy, tmp_path):
    from hill_viz.session import Session

    s = Session.open(workspace_copy, actor="reviewer-rita", read_only=True, read_only_reason="opened for review")
    edit_event = s.workspace.store.events(("edit_added",))[0]
    s.annotate(edit_event.id, "moves <3> too far")
    (first, second) = edit_reviews(s.workspace)
    assert [c.actor for c in first.comments] == ["reviewer-rita"] and second.comments == []
    text = write_review_report(s.workspace, tmp_path / "r.html").read_text()
    assert "reviewer-rita: moves &lt;3&gt; too far" in text
    s.workspace.close()


def test_snapshot_images_share_a_scale_and_ring_the_edit():
    from io import BytesIO

    from PIL import Image

    a = {"id": np.arange(4), "x": np.array([0.0, 1, 0, 1]), "y": np.array([0.0, 0, 1, 1]), "label": np.zeros(4)}
    import pandas as pd
    then, now = pd.DataFrame(a), pd.DataFrame({**a, "x": a["x"] * 2})
    bounds = shared_bounds(then, now)
    assert bounds[0] < 0 and bounds[2] > 2
    plain = np.asarray(Image.open(BytesIO(snapshot_png(then, bounds, None, 1, size=100))))
    ringed = np.asarray(Image.open(BytesIO(snapshot_png(then, bounds, np.array([0]), 1, size=100))))
    assert (ringed == 0).all(axis=2).sum() > 0 and (plain == 0).all(axis=2).sum() == 0
