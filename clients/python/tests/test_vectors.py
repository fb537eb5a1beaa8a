"""Every vector of docs/protocol-vectors.json: decode gives the fields, encode gives the hex,
malformed input fails with the right code and request id."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from wirebus import codec  # noqa: E402

VECTORS = os.environ.get("WIREBUS_VECTORS") or os.path.join(HERE, "..", "..", "..", "docs", "protocol-vectors.json")


def load():
    # parse_int keeps 64-bit numbers exact (Python ints are unbounded anyway)
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


def expected_fields(v):
    """The vector's fields in the codec's form: bytes for hex, numbers for names."""
    out = {}
    ftype = codec.TYPES_BY_NAME[v["type"]]
    for k, val in v["fields"].items():
        if k == "requestId":
            continue
        if k == "payloadHex":
            out["payload"] = bytes.fromhex(val)
        elif k == "recordsHex":
            out["records"] = [bytes.fromhex(x) for x in val]
        elif k == "startKind":
            out["startKind"] = val if isinstance(val, int) else {"EARLIEST": 0, "LATEST": 1, "SEQUENCE": 2}[val]
        elif k == "codeName":
            continue
        elif k == "credentialHex":
            out["credential"] = bytes.fromhex(val)
        elif k == "consumers":
            cs = []
            for c in val:
                if isinstance(c, str):  # "name acked maxLag connected"
                    name, acked, lag, conn = c.split(" ")
                    c = {"name": name, "ackedSequence": int(acked), "maxLag": int(lag), "connected": conn == "true"}
                cs.append({"name": c["name"], "ackedSequence": c["ackedSequence"], "maxLag": c["maxLag"],
                           "connected": bool(c["connected"])})
            out["consumers"] = cs
        elif k == "errorFields":
            out["errorFields"] = {(codec.ERROR_FIELD_NAMES.get(int(kk), kk) if str(kk).isdigit() else kk): vv
                                  for kk, vv in val.items() if not str(kk).isdigit() or int(kk) in
                                  codec.ERROR_FIELD_NAMES}
        elif k in ("count",) and ftype in (codec.DELIVER, codec.FETCHED, codec.PUBLISH_BATCH,
                                           codec.PUBLISH_IDEMPOTENT, codec.CONSUMER_LIST):
            continue  # implied by the records / consumers list
        elif k == "magic":
            continue
        else:
            out[k] = val
    return out


def version_of(v, top):
    return int(v.get("version", v.get("protocolVersion", top)))


class VectorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = load()
        cls.top_version = int(cls.doc.get("version", 1))

    def test_file_has_vectors(self):
        self.assertGreater(len(self.doc["frames"]), 40)
        self.assertGreater(len(self.doc["malformed"]), 20)

    def test_frames_decode(self):
        for v in self.doc["frames"]:
            with self.subTest(v["name"]):
                ver = version_of(v, 1)
                f = codec.decode(bytes.fromhex(v["hex"]), version=ver)
                self.assertEqual(codec.TYPE_NAMES[f.type], v["type"])
                self.assertEqual(f.request_id, v["fields"]["requestId"])
                want = expected_fields(v)
                got = dict(f.fields)
                if ver >= 2 and f.type in (codec.ERROR, codec.SUBSCRIPTION_CLOSED):
                    self.assertIn("errorFields", want, "a v2 vector of this type lists errorFields")
                self.assertEqual(got, want)
                if "codeName" in v["fields"]:
                    self.assertEqual(codec.code_name(f["code"]), v["fields"]["codeName"])
                if "count" in v["fields"] and "records" in got:
                    self.assertEqual(len(got["records"]), v["fields"]["count"])

    def test_frames_encode(self):
        n = 0
        for v in self.doc["frames"]:
            if v.get("decodeOnly"):
                continue
            with self.subTest(v["name"]):
                ver = version_of(v, 1)
                fields = expected_fields(v)
                f = codec.Frame(codec.TYPES_BY_NAME[v["type"]], v["fields"]["requestId"], fields)
                self.assertEqual(codec.encode(f, version=ver).hex(), v["hex"])
                n += 1
        self.assertGreater(n, 40)

    def test_malformed(self):
        maxlen = int(self.doc.get("maxFrameLength", codec.DEFAULT_MAX_FRAME_LENGTH))
        for v in self.doc["malformed"]:
            with self.subTest(v["name"]):
                r = codec.FrameReader(maxlen, version_of(v, 1))
                data = bytes.fromhex(v["hex"])
                with self.assertRaises(codec.ProtocolError) as cm:
                    r.feed(data)
                    if v.get("endOfInput"):
                        r.end_of_input()
                    else:
                        self.fail("no error before the end of input")
                self.assertEqual(codec.code_name(cm.exception.code), v["error"])
                self.assertEqual(cm.exception.request_id, v["requestId"])

    def test_malformed_byte_by_byte(self):
        """The same failures when the bytes arrive one at a time (length checked on arrival)."""
        maxlen = int(self.doc.get("maxFrameLength", codec.DEFAULT_MAX_FRAME_LENGTH))
        for v in self.doc["malformed"]:
            with self.subTest(v["name"]):
                r = codec.FrameReader(maxlen, version_of(v, 1))
                err = None
                try:
                    for b in bytes.fromhex(v["hex"]):
                        r.feed(bytes([b]))
                    r.end_of_input()
                except codec.ProtocolError as e:
                    err = e
                self.assertIsNotNone(err)
                self.assertEqual(codec.code_name(err.code), v["error"])

    def test_v2_error_fields_roundtrip(self):
        f = codec.Frame(codec.ERROR, 7, {"code": 10, "message": "m", "errorFields": {"lastSequence": 40}})
        b = codec.encode(f, version=2)
        self.assertEqual(codec.decode(b, version=2), f)
        # v1 has no fields section: the same body without it
        self.assertEqual(len(b) - len(codec.encode(codec.Frame(codec.ERROR, 7, {"code": 10, "message": "m"}))), 10)
        # unknown keys ignored, top bit set is malformed
        raw = bytearray(codec.encode(codec.Frame(codec.ERROR, 7, {"code": 10, "message": "m", "errorFields": {9: 5}}), 2))
        self.assertEqual(codec.decode(bytes(raw), version=2)["errorFields"], {})
        raw = bytearray(codec.encode(f, 2))
        raw[-8] = 0x80
        with self.assertRaises(codec.ProtocolError) as cm:
            codec.decode(bytes(raw), version=2)
        self.assertEqual(cm.exception.code, codec.MALFORMED_FRAME)
        sc = codec.Frame(codec.SUBSCRIPTION_CLOSED, 0, {"subscriptionId": 1, "code": 11, "message": "x",
                                                         "errorFields": {"firstRetainedSequence": 1000}})
        self.assertEqual(codec.decode(codec.encode(sc, 2), version=2), sc)

    def test_publish_batch_fast_path_matches(self):
        payloads = [b"a", b"", b"xyz" * 100]
        f = codec.Frame(codec.PUBLISH_BATCH, 9, {"stream": "s\u00fc", "expectedSequence": 3, "records": payloads})
        self.assertEqual(codec.encode_publish_batch(9, "s\u00fc".encode(), 3, payloads), codec.encode(f))


if __name__ == "__main__":
    unittest.main()
