"""Load test: N signed-in users at once on a real `hill-viz serve`.

The server runs as its own process on 127.0.0.1 (basic auth, `--max-trainings`), so its
memory is measured alone. Two drivers run the same script (sign in, load the page (first
model and its pretraining), train, three box selections, add a contract edit, apply it) for
N users at once: `chromium`, N headless chromium pages (one browser, a context per user,
driven concurrently by Playwright's async API), or `bokeh`, N Bokeh protocol clients
(`hill_viz.bench.bokeh_client`: the same messages on the same websocket, nothing drawn).
The browsers share the server's cores here, where a team's browsers run on their own
machines; the Bokeh clients cost a fraction of that, so they measure the server.
Reported: page load and selection round trip (p50/p90; chromium: timed inside the page from
the mouse-up to the latent view's status line holding the new count; bokeh: from the box's
event sent to the status line's new text received), errors, error notifications left on the
pages, server RSS before / at peak / after all pages closed, and per page whether every
action it took is in its workspace log and `verify` passes, the CPU seconds the server and
the driver used meanwhile, and the server's event-loop lag (the time its sign-in page takes
to come back, asked for every quarter second: every page's events wait on that loop). A
warm-up user opens and closes a page first, so "before" holds what every server keeps
after its first page (imports, compiled kernels). The baseline of the round trip figure
is the same round trip with one user, measured in the same run.
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hill_viz.bench import figure
from hill_viz.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, free_port
from hill_viz.bench.ui import PROBE_JS
from hill_viz.ui.latent_view import STATUS_CLASS, VIEW_CLASS

PASSWORD = "load-test"
SELECTIONS = 3
BOXES = ((0.35, 0.6), (0.25, 0.7))  # the selections' boxes in turn, as fractions of the plot (two counts)
TRAINING_STATUS = "hill-status"  # CSS class of the training status line in the page's header
NO_LIMIT = 0  # a Playwright wait with no limit of its own (trainings queue): --timeout bounds the script
LOG_TAIL = 40  # server log lines kept for the report when something went wrong
LAG_EVERY_S = 0.25  # how often the loop-lag probe asks for the sign-in page
_BOX_TOOL_ON = """() => { for (const doc of Bokeh.documents) for (const m of doc.all_models)
  if (m.type === 'BoxSelectTool') m.active = true; }"""
DRIVERS = {"chromium": "headless chromium pages (Playwright async), one context per user",
           "bokeh": "Bokeh protocol clients (hill_viz.bench.bokeh_client), no browser"}
EXPECTED = {"dataset_loaded": 1, "model_built": 1, "selection": SELECTIONS, "edit_added": 1, "edits_applied": 1,
            "training_segment": 3}  # pretraining, Train, Apply


def add_arguments(parser) -> None:
    parser.add_argument("--users", type=int, default=4, help="concurrent users (default 4)")
    parser.add_argument("--driver", choices=sorted(DRIVERS), default="chromium",
                        help="chromium: headless pages (default); bokeh: protocol clients, nothing drawn")
    parser.add_argument("--n", type=int, default=1500, help="digits-shortcut samples per page (default 1500)")
    parser.add_argument("--max-trainings", type=int, default=2, help="trainings at once (default 2)")
    parser.add_argument("--settle", type=float, default=100.0,
                        help="seconds to wait after the pages close before reading RSS (default 100: Bokeh drops a "
                             "closed page's session 15-32 s after it closes, and the server releases memory 10 and "
                             "60 s after that)")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds a user's whole script may take (default 1200; trainings queue)")
    parser.add_argument("--artifacts", type=Path, default=None,
                        help="folder for the server's whole log and a screenshot of each page that failed")


def run(args) -> list[dict]:
    if args.artifacts:
        args.artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = _Server(Path(tmp), args)
        try:
            with _LagProbe(server.url) as warm_lag:
                warm, _ = asyncio.run(_drive(server.url, ["warmup"], args))  # also the one-user baseline
            server.settle(args.settle)
            before, server_cpu = server.rss(), server.cpu()
            server.watch_peak()
            with _LagProbe(server.url) as lag:
                results, driver_cpu = asyncio.run(_drive(server.url, [f"user{k}" for k in range(args.users)], args))
            cpu = {"server_cpu_s": round(server.cpu() - server_cpu, 1), "driver_cpu_s": round(driver_cpu, 1)}
            peak = server.stop_watching()
            server.settle(args.settle)
            after = server.rss()
        finally:
            server.stop()
        warm_page, *pages = [_check_log(Path(tmp) / "ws", r) for r in warm + results]
    return _figures(args, warm[0] | {"page": warm_page, "lags_ms": warm_lag.lags_ms}, results, pages, before, peak,
                    after, cpu, server.log_tail, lag.lags_ms)


class _LagProbe:
    """Asks for the server's sign-in page every LAG_EVERY_S in a thread; `lags_ms`: how long each took."""

    def __init__(self, url: str):
        self.url = url + "login"
        self.lags_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_LagProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import urllib.request

        while not self._stop.wait(LAG_EVERY_S):
            start = time.perf_counter()
            with urllib.request.urlopen(self.url, timeout=120) as response:
                response.read()
            self.lags_ms.append((time.perf_counter() - start) * 1000)


class _Server:
    """`hill-viz serve` in a subprocess, its RSS sampled in a thread."""

    def __init__(self, tmp: Path, args):
        import psutil

        users = tmp / "users.json"
        users.write_text(json.dumps({f"user{k}": PASSWORD for k in range(args.users)} | {"warmup": PASSWORD}))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        cmd = [sys.executable, "-m", "hill_viz.cli", "serve", "--port", str(self.port), "--workspace", str(tmp / "ws"),
               "--dataset", "digits-shortcut", "--n", str(args.n), "--pretrain-epochs", "1",
               "--basic-auth", str(users), "--cookie-secret", "load-test-secret",
               "--max-trainings", str(args.max_trainings), "--max-sessions", str(args.users + 2)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "HILL_VIZ_CACHE": str(tmp / "cache")})
        for line in self.proc.stdout:
            if line.startswith("hill-viz: serving"):
                break
        else:
            raise RuntimeError("the server did not start")
        self.log_tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        log = args.artifacts / "server.log" if args.artifacts else None
        threading.Thread(target=self._drain_log, args=(log,), daemon=True).start()
        self._ps = psutil.Process(self.proc.pid)
        self._peak, self._watching = 0, None

    def _drain_log(self, path: Path | None) -> None:
        out = open(path, "w") if path is not None else None
        try:
            for line in self.proc.stdout:
                self.log_tail.append(line.rstrip())
                if out is not None:
                    out.write(line)
                    out.flush()
        finally:
            if out is not None:
                out.close()

    def cpu(self) -> float:
        """CPU seconds the server process has used (all its threads)."""
        times = self._ps.cpu_times()
        return times.user + times.system

    def rss(self) -> float:
        return self._ps.memory_info().rss / 2**20

    def watch_peak(self) -> None:
        self._watching = threading.Event()

        def sample():
            while not self._watching.is_set():
                self._peak = max(self._peak, self.rss())
                time.sleep(0.2)
        threading.Thread(target=sample, daemon=True).start()

    def stop_watching(self) -> float:
        self._watching.set()
        return max(self._peak, self.rss())

    def settle(self, seconds: float) -> None:
        time.sleep(seconds)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def _drive(url: str, users: list[str], args) -> tuple[list[dict], float]:
    """Each user's results, and the CPU seconds the driver used (it shares the server's cores)."""
    if args.driver == "bokeh":
        started = time.process_time()
        results = await asyncio.gather(*(_client_user(url, user, args) for user in users))
        return results, time.process_time() - started
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            results = await asyncio.gather(*(_user(browser, url, user, args) for user in users))
            return results, _browser_cpu()
        finally:
            await browser.close()


def _browser_cpu() -> float:
    """CPU seconds of the chromium processes this process started (through Playwright)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name():
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:  # gone meanwhile
            pass
    return total


async def _user(browser, url: str, user: str, args) -> dict:
    """One user's script; what it measured and what went wrong."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    result = _result(user)
    page.on("console", lambda msg: result["console_errors"].append(msg.text[:200]) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: result["console_errors"].append(str(exc)[:200]))
    try:
        await asyncio.wait_for(_script(page, url, user, result), args.timeout)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        _failed(result, exc)
        if args.artifacts:
            await page.screenshot(path=str(args.artifacts / f"{user}.png"))
    try:
        result["notifications"] = await page.locator(".notyf__toast--error").count()
    except Exception:  # noqa: BLE001
        pass
    await context.close()
    return result


def _result(user: str) -> dict:
    return {"user": user, "errors": [], "round_trips_ms": [], "page_load_ms": None, "notifications": 0,
            "step": "sign in", "console_errors": []}


def _failed(result: dict, exc: Exception) -> None:
    first_line = (str(exc).splitlines() or ["(no message)"])[0][:200]  # a timeout has none
    result["errors"].append(f"{result['step']}: {type(exc).__name__}: {first_line}")


async def _script(page, url: str, user: str, result: dict) -> None:
    await page.goto(url + "login?next=%2F%3Fworkspace%3Dnew")  # signed in, straight to a new workspace
    await page.fill("input[name=username]", user)
    await page.fill("input[name=password]", PASSWORD)
    start = time.perf_counter()
    await page.click("button[type=submit]")
    result["step"] = "page load"
    await page.locator(f".{VIEW_CLASS} .bk-events").first.wait_for(state="visible", timeout=NO_LIMIT)
    await page.locator(f".{TRAINING_STATUS}", has_text="epoch 1").first.wait_for(timeout=NO_LIMIT)
    result["page_load_ms"] = (time.perf_counter() - start) * 1000
    result["step"] = "Train"
    await _idle(page, 1)
    await page.get_by_role("button", name="Train", exact=True).click(timeout=120_000)
    await page.locator(f".{TRAINING_STATUS}", has_text="epoch 3").first.wait_for(timeout=NO_LIMIT)
    await _idle(page, 3)
    result["step"] = "box selections"
    await page.evaluate(PROBE_JS)
    await page.wait_for_function("() => window.__hill.title() !== null", timeout=60_000)
    area = await page.locator(f".{VIEW_CLASS} .bk-events").first.bounding_box()
    for k in range(SELECTIONS):
        lo, hi = BOXES[k % len(BOXES)]
        result["round_trips_ms"].append(await _box(page, area, lo, hi))
    result["step"] = "contract edit"
    await page.locator(".hill-edit-groups").get_by_text("Shape", exact=True).click(timeout=60_000)
    await page.get_by_role("button", name="Contract / expand").click(timeout=60_000)
    await page.locator(".hill-pending").get_by_text("contract").first.wait_for(timeout=NO_LIMIT)
    result["step"] = "Apply"
    await page.get_by_role("button", name="Apply edits").click(timeout=60_000)
    await page.locator(f".{TRAINING_STATUS}", has_text="1 teacher").first.wait_for(timeout=NO_LIMIT)
    await _idle(page, None)


def _idle_text(epoch: int | None) -> str:
    """What the status line shows besides "idle" once training stopped (after `epoch`, if given)."""
    return "idle" if epoch is None else f"epoch {epoch} ·"


async def _idle(page, epoch: int | None) -> None:
    text = _idle_text(epoch)
    await page.locator(f".{TRAINING_STATUS}", has_text=text).filter(has_text="idle").first.wait_for(timeout=NO_LIMIT)


async def _box(page, area: dict, lo: float, hi: float) -> float:
    """One box selection; milliseconds from mouse-up to the latent view's status line showing it."""
    for attempt in range(3):  # a redraw of the cloud can reset the active tool: try again
        # a slightly smaller box each time: if the last one did land, late, this one still changes the count
        shrink = attempt * 0.02
        x0, y0 = area["x"] + (lo + shrink) * area["width"], area["y"] + (lo + shrink) * area["height"]
        x1, y1 = area["x"] + (hi - shrink) * area["width"], area["y"] + (hi - shrink) * area["height"]
        await page.evaluate(_BOX_TOOL_ON)  # not a click: clicking an active tool turns it off
        await page.evaluate("() => window.__hill.arm()")
        await page.mouse.move(x0, y0)
        await page.mouse.down()
        await page.mouse.move(x1, y1, steps=6)
        await page.mouse.up()
        try:
            await page.wait_for_function("() => window.__hill.done !== null", timeout=30_000)
            return float(await page.evaluate("() => window.__hill.done - window.__hill.up"))
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: drag again
            continue
    raise RuntimeError("a box selection never reached the status line")


async def _client_user(url: str, user: str, args) -> dict:
    """One user's script on a Bokeh client; what it measured and what went wrong."""
    result, opened = _result(user), []
    try:
        await asyncio.wait_for(_client_script(url, user, result, opened), args.timeout)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        _failed(result, exc)
    for client in opened:
        result["notifications"] = client.error_notifications()
        await client.close()
    return result


async def _client_script(url: str, user: str, result: dict, opened: list) -> None:
    from hill_viz.bench.bokeh_client import PageClient

    start = time.perf_counter()
    page = await PageClient.open(url, user, PASSWORD, "/?workspace=new")
    opened.append(page)
    result["step"] = "page load"
    await page.wait_for(lambda: _view_plot(page) is not None and _status_shows(page, "epoch 1"), None, "epoch 1")
    result["page_load_ms"] = (time.perf_counter() - start) * 1000
    result["step"] = "Train"
    await _client_idle(page, 1)
    await page.click("Train")
    await page.wait_for(lambda: _status_shows(page, "epoch 3"), None, "epoch 3")
    await _client_idle(page, 3)
    result["step"] = "box selections"
    plot = _view_plot(page)
    for k in range(SELECTIONS):
        lo, hi = BOXES[k % len(BOXES)]
        result["round_trips_ms"].append(await _client_box(page, plot, lo, hi))
    result["step"] = "contract edit"
    await page.click("Contract / expand")
    await page.wait_for(lambda: "contract" in (page.text("hill-pending") or ""), None, "the pending contract edit")
    result["step"] = "Apply"
    await page.click("Apply edits")
    await page.wait_for(lambda: _status_shows(page, "1 teacher"), None, "the applied edit")
    await _client_idle(page, None)


def _view_plot(page):
    """The latent view's Bokeh figure (the plot with the box-select tool), or None."""
    from bokeh.models import BoxSelectTool, Plot

    found = page.models(lambda m: isinstance(m, Plot) and any(isinstance(t, BoxSelectTool) for t in m.tools))
    return found[0] if found else None


def _status_shows(page, text: str) -> bool:
    return text in (page.text(TRAINING_STATUS) or "")


async def _client_idle(page, epoch: int | None) -> None:
    text = _idle_text(epoch)
    await page.wait_for(lambda: _status_shows(page, text) and _status_shows(page, "idle"), None, text)


async def _client_box(page, plot, lo: float, hi: float) -> float:
    """One box selection (the box at fractions lo..hi of the axes, y from the top as on a page);
    milliseconds from its event sent to the latent view's status line's new text."""
    from bokeh.events import SelectionGeometry

    (x0, x1), (y0, y1) = (plot.x_range.start, plot.x_range.end), (plot.y_range.start, plot.y_range.end)
    geometry = {"type": "rect", "x0": x0 + lo * (x1 - x0), "x1": x0 + hi * (x1 - x0),
                "y0": y1 - hi * (y1 - y0), "y1": y1 - lo * (y1 - y0)}
    before = page.text(STATUS_CLASS)
    start = time.perf_counter()
    await page.event(SelectionGeometry(plot, geometry=geometry, final=True))
    await page.wait_for(lambda: page.text(STATUS_CLASS) != before, 120, "the selection's count")
    return (time.perf_counter() - start) * 1000


def _check_log(root: Path, result: dict) -> dict:
    """Is every action the page took in its workspace's log (by its user), and does verify pass?"""
    from hill_viz.core.provenance import Workspace

    user = result["user"]
    found = {"user": user, "in_log": False, "verify_ok": False, "missing": dict(EXPECTED)}
    for folder in sorted(p for p in root.iterdir() if (p / "hill.sqlite").exists()):
        ws = Workspace(folder, create=False)
        try:
            events = ws.store.events()
            if not events or events[0].actor != user:
                continue
            kinds = [e.kind for e in events if e.actor == user]
            found["missing"] = {k: n - kinds.count(k) for k, n in EXPECTED.items() if kinds.count(k) < n}
            found["in_log"] = not found["missing"] and all(e.actor == user for e in events)
            found["verify_ok"] = ws.verify().ok
        finally:
            ws.close()
    return found


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _figures(args, warm: dict, results: list[dict], pages: list[dict], before: float, peak: float,
             after: float, cpu: dict, log_tail, lags: list[float]) -> list[dict]:
    trips = [t for r in results for t in r["round_trips_ms"]]
    loads = [r["page_load_ms"] for r in results if r["page_load_ms"] is not None]
    base_trips, base_load = warm["round_trips_ms"], warm["page_load_ms"] or float("nan")
    errors = [e for r in results for e in r["errors"]]
    lost = sum(1 for p in pages if not p["in_log"])
    extra = dict(users=args.users, driver=DRIVERS[args.driver],
                 max_trainings=args.max_trainings, errors=len(errors), error_messages=errors[:10],
                 error_notifications=sum(r["notifications"] for r in results), pages_with_lost_events=lost,
                 pages_failing_verify=sum(1 for p in pages if not p["verify_ok"]), pages=pages,
                 rss_before_mb=round(before, 1), rss_peak_mb=round(peak, 1), rss_after_close_mb=round(after, 1),
                 warmup_errors=warm["errors"], warmup_page=warm["page"],
                 console_errors=[e for r in results for e in r["console_errors"]][:10], **cpu)
    if errors or warm["errors"]:
        extra["server_log_tail"] = list(log_tail)
    n = args.users
    return [
        figure("serve_selection_round_trip_p50", n, _quantile(trips, 0.5), "ms",
               "serve_selection_round_trip_one_user_p50", _quantile(base_trips, 0.5), **extra),
        figure("serve_selection_round_trip_p90", n, _quantile(trips, 0.9), "ms",
               "serve_selection_round_trip_one_user_p90", _quantile(base_trips, 0.9), target_ms=1000.0),
        figure("serve_page_load_p50", n, _quantile(loads, 0.5), "ms", "serve_page_load_one_user", base_load),
        figure("serve_page_load_p90", n, _quantile(loads, 0.9), "ms", "serve_page_load_one_user", base_load),
        figure("serve_rss_after_close", n, after, "MB", "serve_rss_before", before, peak_mb=round(peak, 1),
               target_ratio=1.10),
        figure("serve_loop_lag_p50", n, _quantile(lags, 0.5), "ms", "serve_loop_lag_one_user_p50",
               _quantile(warm["lags_ms"], 0.5), samples=len(lags)),
        figure("serve_loop_lag_p90", n, _quantile(lags, 0.9), "ms", "serve_loop_lag_one_user_p90",
               _quantile(warm["lags_ms"], 0.9), max_ms=round(max(lags, default=float("nan")), 1)),
    ]
