"""Fixtures every test folder shares: one tiny real Session, and one recorded workspace.

- `session`: blobs (2,000 samples) with an 8-d model, built but not trained; a fresh one
  per test. A test folder that needs more (a trained model, an edit) overrides it with a
  fixture of the same name that asks for this one and goes on from there.
- `recorded_workspace`: the folder of a small session recorded once per test run
  (digits, an MLP trained 2 epochs, edits #1 translate label 3 and #2 contract label 5
  applied for 1 epoch with their bias reports). Shared: read it, never write it.
- `workspace_copy`: a private copy of it, for tests that tamper with or extend the record.

Session is imported inside the fixtures, so tests that never ask for one do not load torch.
Signing keys and receipts go to a throwaway folder, never the user's ~/.config.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    # sessions fit PCA views unless a test asks for the learned one: its fit takes a minute
    # on a shared CPU (tests/session/test_projection_session.py drives it, with few steps)
    os.environ.setdefault("HILL_VIZ_PROJECTION", "pca")
    os.environ["HILL_VIZ_KEY_DIR"] = tempfile.mkdtemp(prefix="hill-viz-keys-")


@pytest.fixture
def session(tmp_path):
    from hill_viz.session import Session

    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=2000)
    s.build_model(latent_dim=8)
    yield s
    s.close()  # a test that left training running stops it before its workspace closes


@pytest.fixture(scope="session")
def recorded_workspace(tmp_path_factory) -> Path:
    from hill_viz.core.edits import Edit, Selector
    from hill_viz.session import Session

    s = Session(tmp_path_factory.mktemp("recorded") / "ws")
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(2, wait=True)
    s.add_edit(Edit.translate(Selector.of_label(3), 1.0, 0.5))
    s.add_edit(Edit.contract(Selector.of_label(5), 0.5))
    s.apply_edits(1, wait=True)
    s.workspace.close()
    return s.workspace.path


@pytest.fixture
def workspace_copy(recorded_workspace, tmp_path) -> Path:
    return Path(shutil.copytree(recorded_workspace, tmp_path / "recorded-copy"))
