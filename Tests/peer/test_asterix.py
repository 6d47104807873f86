"""`canopy asterix` against the peer decoder asterix-decoder (PyPI, GPL; used out of process):
every CAT048 report of the sample recordings the package ships, field by field."""
import json
import os
import struct
import subprocess
import sys

import asterix  # pip install asterix-decoder==0.7.11

from common import CANOPY

SAMPLES = os.path.join(os.path.dirname(asterix.__file__), "sample_data")


def payloads(path):
    """The file's ASTERIX messages: its UDP payloads when it is a classic pcap, else the file."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        return [data]
    endian = "<" if magic == b"\xd4\xc3\xb2\xa1" else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    assert link == 1, f"{path}: link type {link}"
    out, at = [], 24
    while at + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 15) * 4
        udp = 14 + ihl
        length = struct.unpack(">H", frame[udp + 4:udp + 6])[0]
        out.append(frame[udp + 8:udp + length])
    return out


def peer_reports(path):
    reports = []
    for m in payloads(path):
        for r in asterix.parse(m):
            if r.get("category") == 48:
                reports.append(r)
    return reports


def val(r, item, field):
    return r.get(item, {}).get(field, {}).get("val")


def close(a, b, tol):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)


def main():
    files = sorted(f for f in os.listdir(SAMPLES) if f.endswith((".raw", ".pcap")))
    assert files, f"no sample files in {SAMPLES}"
    total = 0
    for f in files:
        path = os.path.join(SAMPLES, f)
        run = subprocess.run([CANOPY, "asterix", path], capture_output=True, text=True)
        assert run.returncode == 0, f"{f}: canopy asterix exited {run.returncode}: {run.stderr}"
        ours = [json.loads(line) for line in run.stdout.splitlines()]
        theirs = peer_reports(path)
        assert len(ours) == len(theirs), f"{f}: {len(ours)} CAT048 reports, the peer {len(theirs)}"
        for k, (o, t) in enumerate(zip(ours, theirs)):
            at = f"{f} report {k}"
            assert (o["sac"], o["sic"]) == (val(t, "I010", "SAC"), val(t, "I010", "SIC")), at
            assert close(o["timeOfDay"], val(t, "I140", "ToD"), 1e-6), f"{at}: time {o['timeOfDay']} / {val(t, 'I140', 'ToD')}"
            assert o["type"] == val(t, "I020", "TYP"), at
            assert o["simulated"] == (val(t, "I020", "SIM") == 1), at
            assert o["fieldMonitor"] == (val(t, "I020", "RAB") == 1), at
            assert o["test"] == (val(t, "I020", "TST") == 1), at
            rho = val(t, "I040", "RHO")
            assert close(o["range"], None if rho is None else rho * 1852, 1e-3), f"{at}: range"
            assert close(o["azimuth"], val(t, "I040", "THETA"), 1e-6), f"{at}: azimuth"
            fl = val(t, "I090", "FL")
            assert close(o["flightLevel"], fl, 1e-9), f"{at}: FL {o['flightLevel']} / {fl}"
            if fl is not None:
                assert o["flightLevelValid"] == (val(t, "I090", "V") == 0), at
            h = val(t, "I110", "3D_Height")
            assert close(o["height3D"], None if h is None else h * 0.3048, 1e-6), f"{at}: 3-D height"
            assert o["trackNumber"] == val(t, "I161", "Tn"), at
            m3a = val(t, "I070", "Mode3A")
            if m3a is not None and val(t, "I070", "V") == 0:
                assert o["mode3A"] == m3a, f"{at}: Mode 3/A {o['mode3A']} / {m3a}"
            assert o["aircraftAddress"] == val(t, "I220", "ACAddr"), at
            tid = val(t, "I240", "TId")
            assert o["callsign"] == (tid.strip() or None if tid is not None else None), f"{at}: {o['callsign']} / {tid}"
            total += 1
    print(f"asterix: {total} CAT048 reports of {len(files)} sample files agree with asterix-decoder")


if __name__ == "__main__":
    sys.exit(main())
