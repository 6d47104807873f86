"""Starting and stopping `canopy serve` for the peer tests."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANOPY = os.environ.get("CANOPY", os.path.join(ROOT, ".build", "debug", "canopy"))
TOKEN = "peer-test-token"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, *args):
        self.port = free_port()
        self.data = tempfile.mkdtemp(prefix="canopy-peer-")
        self.log = open(os.path.join(self.data, "serve.log"), "w")
        self.proc = subprocess.Popen([CANOPY, "serve", "--port", str(self.port), "--data", self.data, "--token", TOKEN, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                self.get("/api/health")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("canopy serve exited: " + open(self.log.name).read())
                time.sleep(0.1)
        raise RuntimeError("canopy serve did not start within 20 s")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def post(self, path, body, token=TOKEN, content_type="application/yaml"):
        req = urllib.request.Request(self.url + path, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def start_quickstart(self, speed=100):
        """Starts a run of examples/quickstart.yaml; returns the run."""
        status, run = self.post(f"/api/runs?file=quickstart.yaml&speed={speed}",
                                open(os.path.join(ROOT, "examples", "quickstart.yaml"), "rb").read())
        assert status == 201, (status, run)
        return run

    def wait_until_finished(self, run, timeout):
        deadline = time.time() + timeout
        while self.get(f"/api/runs/{run['id']}")["status"] == "running" and time.time() < deadline:
            time.sleep(1)

    def frames(self, run):
        """The run's stored picture frames."""
        return self.get(f"/api/runs/{run['id']}/frames?from=0&to=1e9&limit=1000")["frames"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def finish(failures, success):
    """Prints the first failures and exits 1, or prints the success line."""
    if failures:
        print("\n".join(failures[:20]))
        sys.exit(1)
    print(success)
