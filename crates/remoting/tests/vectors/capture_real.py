#!/usr/bin/env python3
"""Captures real-broker vectors from the local cluster (scripts/rocketmq, 127.0.0.1 only).

Writes:
  route_real_v317.json  GET_ROUTEINFO_BY_TOPIC body for a client version < V4_9_4
                        (fastjson writes brokerAddrs keys without quotes)
  route_real_v479.json  the same route for version 479 (standard JSON)
  pull_real.bin         PULL_MESSAGE body with two messages this script sent: one plain,
                        one zlib-compressed (sysFlag COMPRESSED)
  pull_real.json        what was sent and the broker's answers (send msgIds, offsets)
Run with the cluster up: python3 capture_real.py
"""
import json
import os
import socket
import struct
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
NAMESRV = ("127.0.0.1", 9876)
TOPIC = "CodecVectorTopic"
GROUP = "codec_vector_group"
opaque = 0


def call(addr, code, ext, body=b"", version=479, timeout=5.0):
    global opaque
    opaque += 1
    header = json.dumps({"code": code, "extFields": ext, "flag": 0, "language": "JAVA",
                         "opaque": opaque, "serializeTypeCurrentRPC": "JSON",
                         "version": version}, separators=(",", ":")).encode()
    frame = struct.pack(">ii", 4 + len(header) + len(body), len(header)) + header + body
    with socket.create_connection(addr, timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(frame)
        raw = b""
        while len(raw) < 4:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("closed")
            raw += chunk
        total = struct.unpack(">i", raw[:4])[0]
        while len(raw) < 4 + total:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("closed")
            raw += chunk
    word = struct.unpack(">I", raw[4:8])[0]
    assert word >> 24 == 0, "expected a JSON header"
    hlen = word & 0xFFFFFF
    resp = json.loads(raw[8:8 + hlen])
    return resp, raw[8 + hlen:4 + total]


def props(pairs):
    return "".join(f"{k}\x01{v}\x02" for k, v in pairs)


def main():
    resp, _ = call(NAMESRV, 105, {"topic": "TBW102"})
    assert resp["code"] == 0, resp
    # Create the topic (1 queue) on the first master of the TBW102 route.
    route = json.loads(_.decode())
    broker = sorted(route["brokerDatas"], key=lambda b: b["brokerName"])[0]
    addr_text = broker["brokerAddrs"]["0"]
    host, port = addr_text.rsplit(":", 1)
    assert host == "127.0.0.1", addr_text
    baddr = (host, int(port))
    resp, _ = call(baddr, 17, {"topic": TOPIC, "defaultTopic": "TBW102", "readQueueNums": "1",
                               "writeQueueNums": "1", "perm": "6",
                               "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0",
                               "order": "false"})
    assert resp["code"] == 0, resp
    for _attempt in range(50):
        resp, body = call(NAMESRV, 105, {"topic": TOPIC}, version=317)
        if resp["code"] == 0:
            break
        time.sleep(0.2)
    assert resp["code"] == 0, resp
    open(os.path.join(HERE, "route_real_v317.json"), "wb").write(body)
    resp, body = call(NAMESRV, 105, {"topic": TOPIC}, version=479)
    open(os.path.join(HERE, "route_real_v479.json"), "wb").write(body)

    resp, _ = call(baddr, 30, {"topic": TOPIC, "queueId": "0"})
    start = int(resp["extFields"]["offset"])
    plain = "hello from the codec vectors".encode()
    big = ("compressed body " * 64).encode()
    sent = []
    for i, (body, sysflag, stored) in enumerate([(plain, 0, plain),
                                                 (big, 1, zlib.compress(big, 5))]):
        p = props([("TAGS", "TagA" if i == 0 else "TagB"), ("KEYS", f"key-{i} other"),
                   ("UNIQ_KEY", f"7F00000100002A9F00000000ABCD{i:04X}"), ("WAIT", "true"),
                   ("color", "红")])
        ext = {"a": "codec_vector_producer", "b": TOPIC, "c": "TBW102", "d": "4", "e": "0",
               "f": str(sysflag), "g": str(int(time.time() * 1000)), "h": str(i + 10),
               "i": p, "j": "0", "k": "false", "m": "false"}
        resp, _ = call(baddr, 310, ext, stored)
        assert resp["code"] == 0, resp
        sent.append({"body_hex": body.hex(), "tag": "TagA" if i == 0 else "TagB",
                     "flag": i + 10, "compressed": bool(sysflag),
                     "send_response": resp["extFields"]})
    pull_ext = {"consumerGroup": GROUP, "topic": TOPIC, "queueId": "0",
                "queueOffset": str(start), "maxMsgNums": "32",
                # SUBSCRIPTION (4): subscription in the header, so no heartbeat is needed.
                "sysFlag": "4", "subscription": "*",
                "commitOffset": "0", "suspendTimeoutMillis": "0", "subVersion": "0",
                "expressionType": "TAG"}
    for _attempt in range(50):
        resp, body = call(baddr, 11, pull_ext)
        if resp["code"] == 0 and body:
            break
        time.sleep(0.2)
    assert resp["code"] == 0, resp
    open(os.path.join(HERE, "pull_real.bin"), "wb").write(body)
    meta = {"broker": addr_text, "topic": TOPIC, "start_offset": start, "sent": sent,
            "pull_response": resp.get("extFields"), "pull_remark": resp.get("remark"),
            "broker_version": resp.get("version")}
    open(os.path.join(HERE, "pull_real.json"), "w").write(json.dumps(meta, indent=2) + "\n")
    print("ok", len(body), "bytes pulled")


if __name__ == "__main__":
    main()
