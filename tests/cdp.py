"""A headless Chromium driven over the DevTools protocol (CDP), for the
dashboard test (tests/dashboard.t): start it, load a page, evaluate
JavaScript, take a screenshot, stop it. Python 3 with Debian's
python3-websocket (module websocket, websocket-client); every wait is
bounded, and the browser is stopped by its process group's id (it runs in a
session of its own), never by name.

    browser = cdp.Browser.start(tmpdir)     # raises cdp.Unavailable if it cannot run
    try:
        browser.navigate("http://127.0.0.1:8080/")
        browser.evaluate("document.title")
        png = browser.screenshot()
    finally:
        browser.stop()
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

START_S = 30             # the browser must write its DevTools port within this
CALL_S = 15              # no DevTools call may take longer
WIDTH, HEIGHT = 1366, 768


def _websocket():
    """The websocket module; Debian installs it for Debian's python3, which
    may not be the python3 first on PATH (pyenv, a venv)."""
    try:
        import websocket
        return websocket
    except ImportError:
        pass
    for path in ("/usr/lib/python3/dist-packages",):
        if os.path.isdir(os.path.join(path, "websocket")) and path not in sys.path:
            sys.path.append(path)
    try:
        import websocket
        return websocket
    except ImportError:
        return None


class Unavailable(Exception):
    """No browser to test with (not installed, or cannot start)."""


def executable():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, proc, ws, profile):
        self.proc = proc          # the browser (leader of its own process group)
        self.ws = ws              # the page target's DevTools websocket
        self.profile = profile    # its --user-data-dir
        self.next_id = 0          # the id of the last CDP call sent
        self.events = []          # every CDP event received: {"method", "params"}

    @classmethod
    def start(cls, tmpdir, register=None):
        """Starts a headless browser with a blank page, its profile under
        tmpdir. register(proc), when given, is told of the process at once
        (so a test's cleanup can kill it)."""
        websocket = _websocket()
        path = executable()
        if not path:
            raise Unavailable("chromium is not installed (Debian package chromium)")
        if not websocket:
            raise Unavailable("the python websocket module is missing (Debian package python3-websocket)")
        profile = os.path.join(tmpdir, "chromium-profile")
        os.makedirs(profile, exist_ok=True)
        argv = [path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--mute-audio", "--hide-scrollbars",
                "--window-size=%d,%d" % (WIDTH, HEIGHT), "about:blank"]
        log = open(os.path.join(tmpdir, "chromium.log"), "wb")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        except OSError as e:
            raise Unavailable("cannot run %s: %s" % (path, e))
        finally:
            log.close()
        if register:
            register(proc)
        try:
            port = cls._port(proc, profile)
            url = cls._page_socket(port)
            ws = websocket.create_connection(url, timeout=CALL_S, suppress_origin=True)
        except Exception:
            cls._kill(proc)
            raise
        browser = cls(proc, ws, profile)
        browser.call("Page.enable")
        browser.call("Runtime.enable")
        browser.call("Log.enable")
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        return browser

    @staticmethod
    def _port(proc, profile):
        """The DevTools port, from the DevToolsActivePort file the browser writes in its profile."""
        path = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise Unavailable("chromium exited %s at start (see chromium.log)" % proc.returncode)
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except OSError:
                pass
            time.sleep(0.1)
        raise Unavailable("chromium wrote no DevToolsActivePort within %d s" % START_S)

    @staticmethod
    def _page_socket(port):
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as reply:
                    targets = json.loads(reply.read())
                pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise Unavailable("chromium listed no page target within %d s" % START_S)

    def call(self, method, params=None, timeout_s=CALL_S):
        """Sends one CDP call and returns its result; events that arrive
        meanwhile go to self.events. Raises RuntimeError on an error reply
        or when no reply comes within timeout_s."""
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("%s: no reply within %.0f s" % (method, timeout_s))
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except Exception as e:   # a timeout or a closed socket, as the websocket module raises them
                raise RuntimeError("%s: %s" % (method, e or type(e).__name__))
            if "method" in message:
                self.events.append(message)
            elif message.get("id") == mine:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-able; promises awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression[:60], result["exceptionDetails"].get("text")))
        return result.get("result", {}).get("value")

    def navigate(self, url, timeout_s=CALL_S):
        """Loads url and waits (bounded) until the document has loaded."""
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.evaluate("document.readyState") == "complete":
                return True
            time.sleep(0.1)
        return False

    def wait_for(self, expression, bound_s):
        """Evaluates expression until it is true or bound_s passes; returns its last value."""
        deadline = time.monotonic() + bound_s
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.2)

    def screenshot(self):
        """The page as PNG bytes, at the viewport's size."""
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])

    def errors(self):
        """The page's console errors, uncaught exceptions and CSP or network errors so far, as text."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("exception: %s" % (details.get("exception", {}).get("description")
                                                or details.get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console.%s: %s" % (params.get("type"), [a.get("value") or a.get("description")
                                                                      for a in params.get("args", [])]))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append("%s: %s %s" % (entry.get("source"), entry.get("text"), entry.get("url", "")))
        return found

    @staticmethod
    def _kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self):
        """Closes the browser (Browser.close, then SIGKILL to its process group after 5 s)."""
        try:
            self.call("Browser.close", timeout_s=5)
        except Exception:
            pass
        try:
            self.ws.close()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        # The renderers and helpers share its process group: none is left behind.
        self._kill(self.proc)
