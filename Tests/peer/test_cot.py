#!/usr/bin/env python3
"""CoT out, checked by a real TAK client library: canopy serve runs the quickstart and sends
each confirmed track (and each fire unit) as CoT over UDP and over TCP; cot_listen.py
(pytak + takproto) receives and checks every event. Each track's CoT type must be the one of
a class the server gave that track."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, finish, free_port  # noqa: E402

TYPES = {"drone": "a-h-A-M-F-Q", "decoy": "a-h-A-W-D", "cruise": "a-h-A-W-M-L", "supersonic-cruise": "a-h-A-W-M-L",
         "ballistic": "a-h-A-W-M-S-S", "aeroballistic": "a-h-A-W-M-A-S", "unknown": "a-u-A"}
LISTEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cot_listen.py")


def main():
    udp_port, tcp_port = free_port(), free_port()
    # The UDP listener must be up before the first event is sent.
    udp = subprocess.Popen([sys.executable, LISTEN, "--udp", str(udp_port), "--count", "60", "--timeout", "150"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    server = Server("--cot-udp", f"127.0.0.1:{udp_port}", "--cot-tcp", str(tcp_port))
    try:
        tcp = subprocess.Popen([sys.executable, LISTEN, "--tcp-connect", f"127.0.0.1:{tcp_port}", "--count", "60", "--timeout", "150"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        run = server.start_quickstart()
        results = {}
        for name, proc in (("udp", udp), ("tcp", tcp)):
            out, err = proc.communicate(timeout=200)
            events = [json.loads(line) for line in out.splitlines() if line.strip()]
            results[name] = (proc.returncode, events, err)
        # Classes the server gave each track, over the stored frames of the run.
        server.wait_until_finished(run, 120)
        frames = server.frames(run)
        classes = {}
        for f in frames:
            for t in f["tracks"]:
                classes.setdefault(t["id"], set()).add(t["class"])
        failures = []
        for name, (code, events, err) in results.items():
            tracks = [e for e in events if ".trk." in (e.get("uid") or "")]
            units = [e for e in events if ".unit." in (e.get("uid") or "")]
            bad = [e for e in events if e.get("problems")]
            print(f"{name}: {len(events)} events ({len(tracks)} tracks, {len(units)} fire units), {len(bad)} with problems, exit {code}")
            if code != 0:
                failures.append(f"{name}: cot_listen exited {code}: {err[-500:]}")
            if bad:
                failures.append(f"{name}: events with problems: {bad[:3]}")
            if not tracks:
                failures.append(f"{name}: no track events")
            hostile = sorted({e["type"] for e in tracks if e["type"].startswith("a-h-")})
            print(f"{name}: hostile track types seen: {hostile}")
            if not hostile:
                failures.append(f"{name}: no track was sent with a hostile type")
            if any(e["type"] != "a-f-G" for e in units):
                failures.append(f"{name}: a fire unit is not a-f-G")
            for e in tracks:
                tid = int(e["uid"].rsplit(".", 1)[1])
                allowed = {TYPES[c] for c in classes.get(tid, {"unknown"})} | {"a-u-A"}
                if e["type"] not in allowed:
                    failures.append(f"{name}: track {tid} sent as {e['type']}, its classes were {sorted(classes.get(tid, []))}")
                if not e.get("takproto_ok"):
                    failures.append(f"{name}: takproto refused {e['uid']}")
        finish(failures, "CoT over UDP and TCP: every event clean, every track typed by its class")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
