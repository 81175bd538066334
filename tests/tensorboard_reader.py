#!/usr/bin/env python3
"""An independent reader of the TensorBoard event files Tandem writes, for tests/test_trl_config.cpp.

usage: tensorboard_reader.py RUN_DIR

Reads RUN_DIR/runs/events.out.tfevents.* with its own TFRecord framing (struct), its own CRC-32C (bitwise, no
table) and a minimal protobuf decoder, then checks the events against RUN_DIR/metrics.jsonl: the first event
is file_version "brain.Event:2"; then one event per metrics line, at its step, holding exactly its finite
numbers (except step) as simple_value scalars tagged train/<key> or eval/<key>, equal after rounding to float32.
Prints "ok: N events, M scalars" and exits 0, or prints what differs and exits 1.
"""
import glob
import json
import math
import os
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    at = 0
    while at < len(blob):
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        assert length_crc == masked(header), f"bad length CRC at byte {at}"
        data = blob[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        assert len(data) == length and data_crc == masked(data), f"bad data CRC at byte {at}"
        yield data
        at += 16 + length


def varint(buf, at):
    value, shift = 0, 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def fields(buf):
    """(field number, wire type, value) of one protobuf message; bytes fields stay raw."""
    at = 0
    while at < len(buf):
        key, at = varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(buf, at)
        elif wire == 1:
            value, at = buf[at:at + 8], at + 8
        elif wire == 2:
            n, at = varint(buf, at)
            value, at = buf[at:at + n], at + n
        elif wire == 5:
            value, at = buf[at:at + 4], at + 4
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        yield number, wire, value


def decode_event(data):
    event = {"scalars": {}}
    for number, wire, value in fields(data):
        if number == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            event["step"] = value
        elif number == 3 and wire == 2:
            event["file_version"] = value.decode()
        elif number == 5 and wire == 2:
            for n, w, v in fields(value):  # Summary.value
                assert n == 1 and w == 2, "Summary holds only values"
                tag, simple = None, None
                for vn, vw, vv in fields(v):
                    if vn == 1 and vw == 2:
                        tag = vv.decode()
                    elif vn == 2 and vw == 5:
                        simple = struct.unpack("<f", vv)[0]
                assert tag is not None and simple is not None, "a Value without tag or simple_value"
                event["scalars"][tag] = simple
        else:
            raise AssertionError(f"unexpected Event field {number}")
    return event


def as_float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def main(run_dir):
    files = glob.glob(os.path.join(run_dir, "runs", "events.out.tfevents.*"))
    assert len(files) == 1, f"expected one events file, found {files}"
    with open(files[0], "rb") as f:
        events = [decode_event(r) for r in records(f.read())]
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert events[0].get("file_version") == "brain.Event:2", f"first event: {events[0]}"
    assert len(events) == 1 + len(lines), f"{len(events) - 1} summary events for {len(lines)} metrics lines"
    scalars = 0
    for event, line in zip(events[1:], lines):
        assert event["step"] == line["step"], f"step {event['step']} != {line['step']}"
        assert event["wall_time"] > 1.5e9, f"wall_time {event['wall_time']}"
        prefix = "eval/" if line.get("eval") else "train/"
        want = {prefix + k: as_float32(v) for k, v in line.items()
                if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        assert event["scalars"] == want, f"step {line['step']}: {event['scalars']} != {want}"
        scalars += len(want)
    print(f"ok: {len(events)} events, {scalars} scalars")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print(f"tensorboard_reader: {e}")
        sys.exit(1)
