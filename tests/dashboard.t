#!/usr/bin/env python3
"""The ring dashboard (GET / on chordd's --http port) in a real browser:
Debian's chromium, headless, driven over the DevTools protocol (tests/cdp.py,
Debian's python3-websocket).

Four processes (4 positions each, secured, with --http) form a ring. Without
a browser: / and every asset index.html names answer 200 with their content
type, no-store and a Content-Security-Policy of default-src 'self'; an
unknown asset is 404 and a POST 405, JSON. In the browser, at 1366x768: the
page draws one .position per position /v1/ring lists, with the same ids,
endpoints and states, says it is live, and logs no error (a CSP violation
would be one); typing a key into #key marks as data-role="owner" the position
/v1/lookup names, which is the key's successor as this test computes it with
BLAKE2b, and its replicas as data-role="replica", and shows the hops; a key
with spaces, slashes and percent signs likewise. A screenshot of that is
saved. After a SIGKILL of one process, within 10 s each of its positions is
drawn down or gone (a second screenshot); once the process the page talks to
stops, within 10 s the page says "connection lost". On a ring with HTTP
tokens (--http-tokens), the page opened without #token=... says a token is
needed, and with a read token draws the ring.

Screenshots go to $CHORD_ARTIFACTS (default build/artifacts): dashboard.png
and dashboard-down.png; their paths are printed as TAP diagnostics. When
chromium is not installed, the checks in the browser are skipped (TAP SKIP)
and the others run. Helpers are in tests/chordtest.py and tests/httptest.py;
environment as in tests/chordtest.py."""
import concurrent.futures
import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import Fatal, diag, ok  # noqa: E402
from httptest import request  # noqa: E402

PROCESSES = 4
VNODES = 4
PUTS = 40
DRAW_S = 10                 # the page polls every second: it must show the ring within this
DOWN_S = 10                 # a killed process must show down (or vanish) within this
LOST_S = 10                 # "connection lost" within this once the page's peer stops
KEYS = ["dashboard-key", "a key/with spaces?&#%41 and \u00e9"]
ARTIFACTS = os.environ.get("CHORD_ARTIFACTS") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "artifacts")

# The page's view, read in the browser: every .position as {id, endpoint, state, role}.
PAGE_POSITIONS = """Array.from(document.querySelectorAll('#ring .position')).map(c => ({
    id: c.dataset.id, endpoint: c.dataset.endpoint, state: c.dataset.state, role: c.dataset.role || null}))"""


def get_json(port, path):
    status, _, body = request(port, path, role="read")
    return status, ht.json_of(body)


def token_fragment():
    return "#token=" + ct.HTTP_TOKENS["read"] if ct.HTTP_TOKENS else ""


def check_assets(port):
    status, headers, body = request(port, "/")
    csp = headers.get("content-security-policy", "")
    ok(status == 200 and headers.get("content-type") == "text/html; charset=utf-8" and
       "default-src 'self'" in csp and headers.get("cache-control") == "no-store",
       "GET /: 200 text/html, no-store, Content-Security-Policy default-src 'self'",
       [status, headers])
    names = re.findall(rb'(?:src|href)="(/dashboard/[^"]+)"', body)
    want = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
            ".svg": "image/svg+xml"}
    problems = []
    for name in names:
        path = name.decode()
        status, headers, asset = request(port, path)
        if (status != 200 or headers.get("content-type") != want.get(os.path.splitext(path)[1]) or
                not asset or "default-src 'self'" not in headers.get("content-security-policy", "")):
            problems.append("%s: %s %s (%d bytes)" % (path, status, headers.get("content-type"), len(asset)))
    ok(len(names) >= 3 and not problems, "the %d assets index.html names answer 200 with their content type "
       "and the policy" % len(names), problems)
    cases = [("GET", "/dashboard/nope.js", 404), ("GET", "/dashboard/", 404),
             ("GET", "/dashboard/../v1/info", 404), ("POST", "/", 405)]
    problems = ["%s %s: %s %r" % (m, p, s, b) for m, p, want_status in cases
                for s, _, b in [request(port, p, m)]
                if s != want_status or not b.startswith(b'{"error":')]
    ok(not problems, "an unknown asset is 404, a POST 405, both with a JSON error", problems)


def ring_positions(port):
    """{id: (endpoint, state)} from /v1/ring, or None."""
    status, ring = get_json(port, "/v1/ring")
    if status != 200 or not isinstance(ring, dict) or not isinstance(ring.get("positions"), list):
        return None
    return {p.get("id"): (p.get("endpoint"), p.get("state")) for p in ring["positions"]}


def keys_owned(port):
    """The keys owned summed over /v1/ring's processes; None when none has a count (no census)."""
    _, ring = get_json(port, "/v1/ring")
    counts = [p.get("keys_owned") for p in (ring or {}).get("processes") or [] if isinstance(p, dict)]
    counts = [n for n in counts if isinstance(n, int)]
    return sum(counts) if counts else None


def page_positions(browser):
    return {p["id"]: (p["endpoint"], p["state"]) for p in browser.evaluate(PAGE_POSITIONS) or []}


def table_rows(browser, port):
    """[(endpoint, keys owned)] of /v1/ring's processes, and of the page's table."""
    _, ring = get_json(port, "/v1/ring")
    want = sorted((p.get("endpoint"), p.get("keys_owned")) for p in (ring or {}).get("processes") or [])
    rows = browser.evaluate("""Array.from(document.querySelectorAll('#process-table tbody tr')).map(r =>
        [r.dataset.endpoint, r.cells[5].textContent])""") or []
    return want, sorted((endpoint, int(owned.replace(",", "")) if owned.replace(",", "").isdigit() else None)
                        for endpoint, owned in rows)


def check_drawn(browser, port, live):
    """The page draws every position of the ring, as /v1/ring says (retried while either moves)."""
    known = {pid.hex(): peer.endpoint for peer in live for pid in peer.ids}
    deadline = time.monotonic() + DRAW_S
    while True:
        ring, page = ring_positions(port), page_positions(browser)
        if ring and ring == page and set(page) == set(known) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    ok({pid: endpoint for pid, (endpoint, _) in page.items()} == known,
       "the page draws every one of the ring's %d positions (as the processes logged them) at its process, "
       "and no other (%d drawn)" % (len(known), len(page)),
       ["missing %s" % sorted(set(known) - set(page)), "extra %s" % sorted(set(page) - set(known))])
    ok(ring and ring == page, "the page draws the %s positions /v1/ring lists, with their ids, endpoints and "
       "states (%d drawn)" % (len(ring) if ring else "?", len(page)),
       ["/v1/ring: %s" % ring, "page: %s" % page])
    deadline = time.monotonic() + DRAW_S
    while True:
        want, drawn = table_rows(browser, port)
        if want and drawn == want or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    ok(want and drawn == want, "the table has a row per process with the keys it owns, as /v1/ring says (%s)" % (
        ", ".join("%s" % n for _, n in drawn)), ["/v1/ring: %s" % want, "page: %s" % drawn])
    status = browser.evaluate("document.getElementById('status').dataset.state")
    ok(status == "live", "the page says it is live (#status data-state %r: %r)" % (
        status, browser.evaluate("document.getElementById('status').textContent")))


def type_key(browser, key):
    browser.evaluate("(() => { const k = document.getElementById('key'); k.value = %s; "
                     "k.dispatchEvent(new Event('input', {bubbles: true})); return true; })()" % json.dumps(key))


def check_key(browser, port, key, live):
    """Typing key highlights the owner /v1/lookup names, the key's successor."""
    status, lookup = get_json(port, ht.lookup_path(key.encode()))
    if status != 200 or not isinstance(lookup, dict) or not isinstance(lookup.get("owner"), dict):
        ok(False, "/v1/lookup answers for %r" % key, [status, lookup])
        return
    key_id = ct.blake(key.encode())
    owner_id, owner_peer = ct.owner_position(key_id, live)
    ok(lookup.get("id") == key_id.hex() and lookup["owner"].get("id") == owner_id.hex(),
       "/v1/lookup %r: id and owner are BLAKE2b-160(key) and its successor (%s on %s)" % (
           key, ct.short(owner_id), owner_peer), [lookup])
    replicas = {r.get("id") for r in lookup.get("replicas") or []}
    type_key(browser, key)
    expression = ("(() => { const o = document.querySelector('#ring .position[data-role=owner]'); "
                  "return o && o.dataset.id === %s && document.getElementById('hops').textContent !== '' "
                  "&& document.getElementById('key-marker') !== null; })()" % json.dumps(lookup["owner"]["id"]))
    shown = browser.wait_for(expression, DRAW_S)
    page = browser.evaluate(PAGE_POSITIONS) or []
    owners = [p["id"] for p in page if p["role"] == "owner"]
    marked = {p["id"] for p in page if p["role"] == "replica"}
    hops = browser.evaluate("document.getElementById('hops').textContent")
    ok(shown and owners == [lookup["owner"]["id"]] and marked == replicas and
       re.fullmatch(r"\d+", hops or "") is not None,
       "typing %r into #key marks its owner (%s) and its %d replicas on the ring and shows the hops (%s)" % (
           key, ct.short(owner_id), len(replicas), hops),
       ["owners drawn %s, replicas drawn %s; /v1/lookup %s" % (owners, sorted(marked), lookup)])


def save_screenshot(browser, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    with open(path, "wb") as f:
        f.write(browser.screenshot())
    diag("screenshot: %s" % path)
    return path


def check_kill(browser, port, victim):
    before = [pid for pid, (endpoint, state) in page_positions(browser).items()
              if endpoint == victim.endpoint and state != "down"]
    if not ok(len(before) == victim.vnodes, "before the kill, the page draws %s's %d positions up" % (
            victim, victim.vnodes), [page_positions(browser)]):
        return
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=5)
    ct.unregister(victim.proc)
    start = time.monotonic()
    shown = browser.wait_for("Array.from(document.querySelectorAll('#ring .position')).every(c => "
                             "c.dataset.endpoint !== %s || c.dataset.state === 'down')" % json.dumps(victim.endpoint),
                             DOWN_S)
    ok(shown, "after a SIGKILL of %s, its positions are drawn down or gone within %d s (%.1f s)" % (
        victim, DOWN_S, time.monotonic() - start),
       ["page: %s" % page_positions(browser), "/v1/ring: %s" % ring_positions(port)])


def check_tokens(browser, port):
    """On a ring with HTTP tokens: no token, a clear message; a read token, the ring."""
    if not ct.HTTP_TOKENS:
        return
    browser.navigate("http://127.0.0.1:%d/" % port)
    denied = browser.wait_for("document.getElementById('status').dataset.state === 'denied' && "
                              "document.getElementById('status').textContent", DRAW_S)
    ok(denied and "token" in denied, "without #token=..., the page says a token is needed: %r" % denied)


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    browser = None
    try:
        live = ht.start_ring(PROCESSES, pool, vnodes=VNODES)
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "a ring of %d processes with %d positions each converges" % (PROCESSES, VNODES),
           [problem])
        failures = [f for f in (ct.do_put(ct.rng.choice(live), b"dashboard-%d" % i, b"value-%d" % i)
                                for i in range(PUTS)) if f]
        ok(not failures, "%d puts, so the page has keys to count" % PUTS, failures[:5])
        page_peer = live[0]
        # The census behind keys_owned trails the puts a little; the page is
        # compared with /v1/ring whatever it says, but reads better counted.
        deadline = time.monotonic() + DRAW_S
        while time.monotonic() < deadline and (keys_owned(page_peer.http_port) or 0) < PUTS:
            if keys_owned(page_peer.http_port) is None:
                break
            time.sleep(0.5)
        diag("/v1/ring counts %s keys owned" % keys_owned(page_peer.http_port))
        check_assets(page_peer.http_port)
        if not cdp.executable():
            ct.skip("the page in a browser", "chromium is not installed (Debian package chromium)")
            ct.stop_all(live)
            return
        try:
            browser = cdp.Browser.start(ct.TMPDIR, register=ct.register)
        except cdp.Unavailable as e:
            raise Fatal("headless chromium: %s" % e)
        check_tokens(browser, page_peer.http_port)
        browser.navigate("about:blank")
        browser.events.clear()      # the 401s above were meant
        loaded = browser.navigate("http://127.0.0.1:%d/%s" % (page_peer.http_port, token_fragment()))
        ok(loaded, "chromium loads the page from %s" % page_peer)
        check_drawn(browser, page_peer.http_port, live)
        for key in KEYS:
            check_key(browser, page_peer.http_port, key, live)
        save_screenshot(browser, "dashboard.png")
        errors = browser.errors()
        ok(not errors, "the page logged no error, exception or CSP violation", errors)
        victim = live[-1]
        check_kill(browser, page_peer.http_port, victim)
        live.remove(victim)
        save_screenshot(browser, "dashboard-down.png")
        status = browser.wait_for("['live', 'partial'].includes(document.getElementById('status').dataset.state)",
                                  DRAW_S)
        ok(status, "the page says it is live (or the walk partial) before its peer stops")
        ct.stop_gracefully(page_peer)
        live.remove(page_peer)
        start = time.monotonic()
        lost = browser.wait_for("document.getElementById('status').dataset.state === 'lost' && "
                                "document.getElementById('status').textContent", LOST_S)
        ok(lost and "connection lost" in lost, "once %s stops, the page says %r within %d s (%.1f s)" % (
            page_peer, lost, LOST_S, time.monotonic() - start))
        ct.stop_all(live)
    finally:
        if browser:
            browser.stop()
            ct.unregister(browser.proc)
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-dashboard-", secured=True)
