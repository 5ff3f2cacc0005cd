"""SharingPanel: who else may edit this workspace, for its owner (or an admin) to change.

Shown only to whoever may change it (`Session.may_share`). A user name and *Share for
editing* lets that user edit the workspace too; picking one of the editors and *Stop
sharing* takes it back. Each change is a `sharing` event in the workspace's log
(`Session.share`); `changed(session)` then tells the server (`OpenWorkspaces.recheck`), so
a page of someone who may no longer edit turns read-only.
"""
from __future__ import annotations

import html

import panel as pn
import param

from hill_viz.ui.component import FAILED, SessionComponent

__all__ = ["SharingPanel"]


class SharingPanel(SessionComponent):
    """Share the Session's workspace for editing with named users, or stop sharing it."""

    changed = param.Callable(default=None, doc="Called with the Session after a change (e.g. "
                             "OpenWorkspaces.recheck); None: nothing else to tell")

    def __init__(self, **params):
        super().__init__(**params)
        self.user_input = pn.widgets.TextInput(placeholder="user name (as they sign in)", width=200,
                                               css_classes=["hill-share-user"])
        self.share_button = pn.widgets.Button(label="Share for editing", color="primary", width=140)
        self.editor_select = pn.widgets.Select(options=[], width=200, css_classes=["hill-share-editors"])
        self.revoke_button = pn.widgets.Button(label="Stop sharing", width=140)
        self.editors_line = pn.pane.HTML("", css_classes=["hill-share-list"], margin=(0, 10))
        self.share_button.on_click(lambda event: self.share(self.user_input.value))
        self.revoke_button.on_click(lambda event: self.share(self.editor_select.value, revoke=True))
        self._show(self.session.editors)

    @property
    def visible(self) -> bool:
        return self.session.may_share

    def share(self, user: str | None, revoke: bool = False) -> None:
        """Share with `user` (or stop); off the event loop, errors as notifications."""
        self.spawn(self.session.share, user or "", revoke, then=lambda editors: self._done(user, revoke, editors))

    def _done(self, user: str | None, revoke: bool, editors) -> None:
        if editors is FAILED:
            return
        self._show(editors)
        if not revoke:
            self.user_input.value = ""
        if self.changed is not None:
            self.changed(self.session)
        self.actions.notify(f"{user} may no longer edit this workspace" if revoke
                            else f"{user} may now edit this workspace", "success")

    def _show(self, editors) -> None:
        names = ", ".join(html.escape(e) for e in editors)
        self.editors_line.object = (f"Shared for editing with: <b>{names}</b>" if editors
                                    else "Not shared: only its owner (and the server's admins) may edit it.")
        self.editor_select.options = list(editors)
        self.revoke_button.disabled = not editors

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        return pn.Card(self.editors_line, pn.Row(self.user_input, self.share_button),
                       pn.Row(self.editor_select, self.revoke_button), title="Sharing", collapsed=True,
                       visible=self.visible, css_classes=["hill-sharing"], sizing_mode="stretch_width")
