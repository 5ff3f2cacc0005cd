"""The app path equals the study path: one round of the expert's edits made on the page
gives the teacher the simulated expert's session builds for the same view.

On the page: colour the view by the attribute (the "Colour by" select), keep each
sub-group as A and B ("Remember as A/B"), "Merge A onto B", "Apply edits". The page has no
tool that intersects a class with an attribute value, so each (label, cue) sub-group of
the training split is selected the way the bias panel selects a group: through the
Session the page shows (it appears on the page as the selection).
"""
import numpy as np

from hill_viz.bench.browser import served, wait_until
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.session import Session
from hill_viz.sim.strategies import Expert, View
from hill_viz.ui.app import build_app

N = 3000
PRETRAIN = 2
EDITS = 2  # the first edits of the expert's round: each is five clicks on the page


def test_the_experts_round_on_the_page_builds_the_studys_teacher(page, tmp_path, artifacts):
    apps = []

    def factory():
        template = build_app(Session(tmp_path / "ws"), dataset="digits-shortcut", n=N, pretrain_epochs=PRETRAIN)
        apps.append(template.hill_app)
        return template

    with served(factory) as url:
        page.goto(url)
        wait_until(lambda: apps and apps[0].ready.is_set(), 120, "the model and its first view", page)
        app = apps[0]
        session, tools = app.session, app.edit_tools
        # the first view is PCA until the pretraining ends and the learned view owed is fitted
        wait_until(lambda: len(session.history) == PRETRAIN and session.learned_view_owed is None
                   and session.status == "ready", 180, "the pretraining and the learned view", page)

        # colour by the attribute on the page
        page.get_by_label("Colour by").select_option("cue")
        wait_until(lambda: app.latent_view.color_by == "cue", 30, "the view coloured by cue", page)

        # the study's expert reads the same view: its edits and its teacher
        edits = Expert().plan(View.of(session.frame, "cue"), np.random.default_rng(0))[:EDITS]
        assert len(edits) == EDITS
        resolved = [e.resolve(session.frame.context()) for e in edits]
        expected = Teacher(session.model, session.dataset, session.projection, resolved, TeacherConfig())

        page.locator(".hill-edit-groups .bk-tab", has_text="Group").first.click()  # the merge tools
        for k, edit in enumerate(edits):
            for side, selector in (("A", edit.selector), ("B", edit.partner)):
                session.select(selector)
                wait_until(lambda: tools.shown[0] is session.selection, 30, "the selection on the page", page)
                page.get_by_role("button", name=f"Remember as {side}").click()
                wait_until(lambda side=side: side in tools.memory and np.array_equal(
                    tools.memory[side].ids, session.selection), 30, f"{side} remembered", page)
            page.get_by_role("button", name="Merge A onto B").click()
            wait_until(lambda k=k: len(session.pending) == k + 1, 30, "the merge", page)
        assert tools.teaches_info.object.startswith("Apply teaches: merge: pulls A's view positions onto B's")
        page.get_by_text("Apply teaches: merge: pulls A").first.wait_for(timeout=30_000)  # shown on the page
        page.screenshot(path=str(artifacts / "study-path-before-apply.png"), full_page=True)

        page.get_by_role("button", name="Apply edits").click()
        wait_until(lambda: len(session.teachers) == 1, 60, "the teacher", page)
        taught = session.teachers[0]
        wait_until(lambda: session.status == "ready", 180, "the distillation epochs", page)
        added = [e.params for e in session.workspace.store.events() if e.kind == "edit_added"]
    app.close()

    assert taught.config == TeacherConfig() == expected.config
    assert [(a["ids"], a["other_ids"]) for a in added] == [(r.ids.tolist(), r.other_ids.tolist()) for r in resolved]
    for name in ("rows", "target_view", "weight", "group", "origin"):
        np.testing.assert_array_equal(getattr(taught, name), getattr(expected, name), err_msg=name)
    np.testing.assert_allclose(taught.target_latent, expected.target_latent, rtol=1e-6, atol=1e-6)
    assert page.console_errors == []
