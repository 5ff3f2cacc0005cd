"""The manual browser round trip of issue 15 (closing note), as run for docs/results/scale-1e7.png.

Usage (from the repository root, after generating the folder with hill_viz.scale.write_blobs):
    PYTHONPATH=$PWD python docs/results/scale_roundtrip.py /work/big/blobs-1e7 OUT.png 1e7
Starts `hill-viz serve --data FOLDER --engine dask ...` on a free 127.0.0.1 port (stopped at
the end), opens /?workspace=new in headless chromium, waits for the whole folder's cloud,
draws a box, adds a translate edit (dx 0.2), applies it (5 epochs), saves a screenshot and
prints FIGURES: seconds to the first cloud, box round trip (mouse up to the count over
every row in the status), edit (click to the pending row: ids materialized over every
row), apply (click to "1 teacher ... idle"), and the RSS peaks (psutil, every 0.5 s) of
the server process and of the server with its Dask worker processes.
"""
import json, re, subprocess, sys, tempfile, threading, time
import psutil
from playwright.sync_api import sync_playwright
from hill_viz.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, free_port

data, shot, rows = sys.argv[1], sys.argv[2], int(float(sys.argv[3]))
port = free_port()
work = tempfile.mkdtemp(prefix="hill-roundtrip-")  # the workspaces and the server's log
cmd = [sys.executable, "-m", "hill_viz.cli", "serve", "--data", data, "--engine", "dask", "--port", str(port),
       "--address", "127.0.0.1", "--workspace", f"{work}/ws", "--pretrain-epochs", "0"]
print("server:", " ".join(cmd), flush=True)
log = open(f"{work}/serve.log", "w")
server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
proc = psutil.Process(server.pid)
peak = {"server": 0, "server+children": 0}
stop = threading.Event()

def sample():
    while not stop.is_set():
        try:
            own = proc.memory_info().rss
            kids = sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak["server"] = max(peak["server"], own)
            peak["server+children"] = max(peak["server+children"], own + kids)
        except psutil.Error:
            pass
        time.sleep(0.5)

threading.Thread(target=sample, daemon=True).start()
T = {}
DEEP_TEXT = """(sel) => { const find = (root) => { const hit = root.querySelector(sel); if (hit) return hit;
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) { const h = find(e.shadowRoot); if (h) return h; }
    return null; };
  const el = find(document); if (!el) return '';
  const text = (n) => [...n.childNodes].filter(c => !['STYLE', 'LINK', 'SCRIPT'].includes(c.tagName))
    .map(c => c.nodeType === 3 ? c.textContent : (c.shadowRoot ? text(c.shadowRoot) + ' ' : '') + text(c)).join(' ');
  return (el.shadowRoot ? text(el.shadowRoot) : '') + ' ' + text(el); }"""

def wait_text(page, sel, pattern, timeout, absent=False):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            txt = re.sub(r"\s+", " ", page.evaluate(DEEP_TEXT, sel))
        except Exception:
            txt = ""
        if bool(re.search(pattern, txt)) != absent:
            return txt
        page.wait_for_timeout(250)
    raise TimeoutError(f"{sel} !~ {pattern}: {txt!r}")

try:
    import socket
    for _ in range(240):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close(); break
        except OSError:
            time.sleep(0.5)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = b.new_context(viewport=VIEWPORT).new_page()
        t0 = time.time()
        page.goto(f"http://127.0.0.1:{port}/?workspace=new", timeout=300_000)
        status = ".hill-selection-status"
        txt = wait_text(page, status, f"{rows:,} points", 3600)
        wait_text(page, status, r"latents \d+/\d+", 600, absent=True)
        page.locator(".hill-latent-view .bk-events").first.wait_for(state="visible", timeout=60_000)
        T["first_cloud_s"] = time.time() - t0
        print("first cloud", T, txt, flush=True)
        page.wait_for_timeout(3000)
        area = page.locator(".hill-latent-view .bk-events").first.bounding_box()
        start = (area["x"] + 0.35 * area["width"], area["y"] + 0.35 * area["height"])
        end = (area["x"] + 0.55 * area["width"], area["y"] + 0.55 * area["height"])
        for attempt in range(3):
            page.locator(".hill-latent-view .bk-tool-icon-box-select").first.click()
            page.mouse.move(*start); page.mouse.down(); page.mouse.move(start[0] + 1, start[1] + 1, steps=2)
            page.mouse.move(*end, steps=25); page.wait_for_timeout(100)
            t1 = time.time(); page.mouse.up()
            try:
                txt = wait_text(page, status, r" [1-9][\d,]* selected", 300)
                T["box_round_trip_s"] = time.time() - t1
                break
            except TimeoutError as e:
                print("box attempt failed", e, flush=True)
        print("box", T, txt, flush=True)
        wait_text(page, ".hill-selection", r"points selected", 120)
        inputs = page.locator(".hill-edit-groups input:not([type=checkbox])")
        inputs.nth(0).fill("0.2"); inputs.nth(0).press("Enter"); page.wait_for_timeout(1000)
        t2 = time.time()
        page.get_by_role("button", name="Translate by dx, dy").click()
        wait_text(page, ".hill-pending", "translate", 1200)
        T["edit_ids_s"] = time.time() - t2
        print("edit", T, flush=True)
        t3 = time.time()
        page.get_by_role("button", name="Apply edits").click()
        wait_text(page, ".hill-status", r"1 teacher", 1800)
        wait_text(page, ".hill-status", r"idle", 1800)
        T["apply_trained_s"] = time.time() - t3
        page.wait_for_timeout(3000)
        page.screenshot(path=shot)
        print("after apply", wait_text(page, status, "points", 10), page.locator(".hill-status").first.inner_text(), flush=True)
        b.close()
finally:
    stop.set()
    T["server_rss_peak_mib"] = round(peak["server"] / 2**20)
    T["server_plus_workers_rss_peak_mib"] = round(peak["server+children"] / 2**20)
    print("FIGURES", json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in T.items()}), flush=True)
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
