"""The Timeline's periodic refresh inside a real Panel server: it stops when the page closes, and
when the Session's workspace closes under a page that is still open (no "closed database" errors)."""
import logging
import socket
import time

import panel as pn
from bokeh.client import pull_session

from hill_viz.ui.timeline import Timeline


def _until(cond, timeout=30.0):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _serve(session, built):
    def factory():
        timeline = Timeline(session=session, poll_ms=100)
        built.append(timeline)
        return pn.panel(timeline)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = pn.serve({"/": factory}, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=[f"127.0.0.1:{port}"], check_unused_sessions_milliseconds=100,
                      unused_session_lifetime_milliseconds=100)
    url = f"http://127.0.0.1:{port}/"
    _until(lambda: _answers(url), 60)
    return server, url


def _answers(url) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), timeout=1):
            return True
    except OSError:
        return False


def test_the_poll_stops_when_the_workspace_closes_and_when_the_page_closes(session, caplog):
    session.train(1, wait=True)
    built = []
    server, url = _serve(session, built)
    try:
        with caplog.at_level(logging.ERROR):
            page = pull_session(url=url)  # a real websocket: the server builds the page for it
            _until(lambda: built and built[0]._periodic is not None and built[0]._periodic.counter > 2)
            periodic = built[0]._periodic
            assert periodic.running
            session.close()  # the workspace closes while the page is still open
            _until(lambda: not periodic.running)
            ticks = periodic.counter
            time.sleep(0.5)
            assert periodic.counter == ticks  # stopped, not just skipping
            page.close()
        assert not [r for r in caplog.records if "closed database" in r.getMessage()
                    or (r.exc_info and "closed database" in str(r.exc_info[1]))]
    finally:
        server.stop()


def test_closing_the_page_stops_the_poll(tmp_path):
    from hill_viz.session import Session

    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=500)
    built = []
    server, url = _serve(s, built)
    try:
        page = pull_session(url=url)
        _until(lambda: built and built[0]._periodic is not None and built[0]._periodic.counter > 1)
        periodic = built[0]._periodic
        page.close()  # the server discards the session, which runs on_session_destroyed
        _until(lambda: not periodic.running)
        assert not s.workspace.store.closed
    finally:
        server.stop()
        s.close()


def test_the_poll_does_not_mark_the_server_busy(tmp_path):
    # Panel's busy state is one per process: a tick counted as busy work would redraw every
    # open page's busy indicator, on every tick of every page
    from hill_viz.session import Session

    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=500)
    built, busy = [], []
    watcher = pn.state.param.watch(lambda event: busy.append(event.new), "busy")
    server, url = _serve(s, built)
    try:
        page = pull_session(url=url)
        _until(lambda: built and built[0]._periodic is not None and built[0]._periodic.counter > 5)
        page.close()
        assert True not in busy
    finally:
        pn.state.param.unwatch(watcher)
        server.stop()
        s.close()
