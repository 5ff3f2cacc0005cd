"""A served session's limits: the training queue, caps on n and epochs, data roots, uploads."""
import time

import pytest

from hill_viz.core.access import DataRoots, Limits
from hill_viz.errors import ConfigError, DataError
from hill_viz.session import Session
from hill_viz.session.queue import TrainingQueue


def _until(cond, timeout=60.0):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _session(path, **params):
    s = Session(path, **params)
    s.load_dataset("blobs", n=2000)
    s.build_model(latent_dim=4, hidden=16)
    return s


def test_the_training_past_the_limit_waits_in_line_then_runs(tmp_path):
    queue = TrainingQueue(1)
    a, b, c = (_session(tmp_path / k, training_queue=queue, actor=k) for k in "abc")
    try:
        a.train(10_000)
        _until(lambda: a.status == "training")
        b.train(1)
        c.train(1)
        _until(lambda: b.status == "queued" and c.status == "queued" and c.queue_position == 2)
        assert b.queue_position == 1 and queue.snapshot() == {"running": ["a"], "waiting": 2, "max_running": 1}
        c.cancel()  # leaving the line lets the others move up
        _until(lambda: c.status == "ready")
        assert c.history == [] and b.status == "queued"
        a.cancel()
        _until(lambda: b.status == "ready" and len(b.history) == 1)
        assert b.queue_position == 0 and queue.snapshot()["running"] == []
    finally:
        for s in (a, b, c):
            s.cancel()
            s.wait(60)
            s.workspace.close()


def test_caps_on_n_and_epochs(tmp_path):
    s = Session(tmp_path / "ws", limits=Limits(max_n=5000, max_epochs=3))
    with pytest.raises(ConfigError, match="blobs with n=6,000 is above this server's limit of 5,000 samples"):
        s.load_dataset("blobs", n=6000)
    with pytest.raises(ConfigError, match="blobs with n=100,000 is above"):  # the builtin's default counts too
        s.load_dataset("blobs")
    s.load_dataset("blobs", n=2000)
    s.build_model(latent_dim=4, hidden=16)
    with pytest.raises(ConfigError, match="4 epochs is above this server's limit of 3 per click"):
        s.train(4)
    s.train(1, wait=True)
    assert len(s.history) == 1
    s.workspace.close()


def test_paths_outside_the_data_roots_get_one_neutral_message(tmp_path):
    import numpy as np

    root, outside = tmp_path / "root", tmp_path / "private"
    root.mkdir(), outside.mkdir()
    rng = np.random.default_rng(0)
    for folder in (root, outside):
        np.savez(folder / "d.npz", X=rng.normal(size=(300, 4)).astype("float32"), y=rng.integers(0, 3, 300))
    (root / "link.npz").symlink_to(outside / "d.npz")
    s = Session(tmp_path / "ws", limits=Limits(data_roots=DataRoots([root])))
    assert s.load_dataset(path=str(root / "d.npz")).n_samples == 300
    assert s.load_dataset(path="d.npz").n_samples == 300  # relative: from the first root
    messages = set()
    for trick in (outside / "d.npz", outside / "missing.npz", "../private/d.npz", f"{root}/../private/d.npz",
                  root / "link.npz", "/etc/passwd", root / "nope.npz", root):
        with pytest.raises(DataError) as err:
            s.load_dataset(path=str(trick))
        messages.add(str(err.value).replace(repr(str(trick)), "PATH"))
    assert messages == {f"cannot open PATH: this server reads only dataset files under its data roots ({root.resolve()})"}
    uploaded = s.store_upload("../../up.npz", (outside / "d.npz").read_bytes())
    assert uploaded.parent == s.workspace.resolve("uploads")  # inside the uploader's workspace only
    assert s.load_dataset(path=str(uploaded)).n_samples == 300
    s.workspace.close()


def test_an_upload_over_the_limit_is_refused(tmp_path):
    s = Session(tmp_path / "ws", limits=Limits(upload_max_bytes=2**20))
    with pytest.raises(DataError, match=r"big.csv is too large to upload \(2.0 MB\); this server accepts up to 1 MB"):
        s.store_upload("big.csv", b"x" * 2**21)
    assert not s.workspace.resolve("uploads").exists()
    s.workspace.close()
