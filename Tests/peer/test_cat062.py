"""ASTERIX out, checked by the peer decoder asterix-decoder (PyPI, GPL; used out of process):
canopy serve runs the quickstart and sends the picture's tracks as CAT062 system tracks over
UDP; every datagram is decoded by asterix-decoder and each record checked against the run's
own stored frames (track number, class, position, speed) and the flags Canopy sets."""
import math
import os
import socket
import sys
import threading
import time

import asterix  # pip install asterix-decoder==0.7.11

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, finish, free_port  # noqa: E402

IDS = {"drone": "DRONE", "decoy": "DECOY", "cruise": "CRUISE", "supersonic-cruise": "SSCRUISE",
       "ballistic": "BALLIST", "aeroballistic": "AEROBAL"}


def distance_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000 * math.asin(min(1, math.sqrt(h)))


def main():
    port = free_port(socket.SOCK_DGRAM)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.5)
    datagrams, stop = [], threading.Event()

    def listen():
        while not stop.is_set():
            try:
                datagrams.append(sock.recv(65535))
            except socket.timeout:
                pass
    listener = threading.Thread(target=listen)
    listener.start()
    server = Server("--asterix-out", f"127.0.0.1:{port}", "--asterix-source", "7/42")
    try:
        run = server.start_quickstart()
        server.wait_until_finished(run, 150)
        time.sleep(1)
        stop.set()
        listener.join()
        frames = server.frames(run)
        seen = {}
        for f in frames:
            for t in f["tracks"]:
                seen.setdefault(t["id"] % 65536, []).append(t)
        failures, records = [], []
        for d in datagrams:
            if len(d) > 1400:
                failures.append(f"a datagram of {len(d)} bytes")
            decoded = asterix.parse(d)
            if not decoded:
                failures.append(f"asterix-decoder found nothing in {d[:16].hex()}")
            for r in decoded:
                if r.get("category") != 62:
                    failures.append(f"category {r.get('category')}")
                    continue
                records.append(r)
        checked = 0
        for r in records:
            try:
                sac, sic = r["I010"]["SAC"]["val"], r["I010"]["SIC"]["val"]
                number = r["I040"]["TrkN"]["val"]
                lat, lon = r["I105"]["Lat"]["val"], r["I105"]["Lon"]["val"]
                vx, vy = r["I185"]["Vx"]["val"], r["I185"]["Vy"]["val"]
                ident = r["I245"]["TId"]["val"].strip()
                status = r["I080"]
                alt_ft = r["I130"]["Alt"]["val"]
                _ = r["I220"]["RoC"]["val"], r["I070"]["ToT"]["val"]
            except KeyError as e:
                failures.append(f"a record without {e}: {sorted(k for k in r if k.startswith('I'))}")
                continue
            if (sac, sic) != (7, 42):
                failures.append(f"track {number}: SAC/SIC {sac}/{sic}")
            if status["SIM"]["val"] != 1 or status["CNF"]["val"] != 0 or status["MON"]["val"] != 0:
                failures.append(f"track {number}: status SIM {status['SIM']['val']} CNF {status['CNF']['val']} MON {status['MON']['val']}")
            views = seen.get(number)
            if not views:
                # A track dropped between two stored frames may never be in one.
                continue
            checked += 1
            allowed = {IDS.get(v["class"], "UNKNOWN") for v in views} | {"UNKNOWN"}
            if ident not in allowed:
                failures.append(f"track {number}: identification {ident}, its classes {sorted({v['class'] for v in views})}")
            near = min(distance_m(lat, lon, v["lat"], v["lon"]) for v in views)
            if near > 20000:
                failures.append(f"track {number}: position {lat:.4f},{lon:.4f} is {near:.0f} m from every stored frame of it")
            speed = math.hypot(vx, vy)
            if not any(abs(speed - v["speed"]) < 0.25 + 0.2 * v["speed"] + 20 for v in views):
                failures.append(f"track {number}: speed {speed:.1f} m/s, stored {sorted(round(v['speed']) for v in views)[:5]}")
            course = math.degrees(math.atan2(vx, vy)) % 360
            if speed > 5 and not any(abs((course - v["course"] + 180) % 360 - 180) < 45 for v in views):
                failures.append(f"track {number}: course {course:.0f}°, stored {sorted(round(v['course']) for v in views)[:5]}")
            if not any(abs(alt_ft * 0.3048 - v["alt"]) < 2000 for v in views):
                failures.append(f"track {number}: altitude {alt_ft * 0.3048:.0f} m")
        print(f"cat062: {len(datagrams)} datagrams, {len(records)} records, {checked} checked against stored frames of "
              f"{len({r['I040']['TrkN']['val'] for r in records if 'I040' in r})} tracks")
        if not records or checked == 0:
            failures.append("no CAT062 record could be checked")
        finish(failures, "cat062: every record decoded by asterix-decoder, every field as the server's picture has it")
    finally:
        stop.set()
        server.stop()


if __name__ == "__main__":
    main()
