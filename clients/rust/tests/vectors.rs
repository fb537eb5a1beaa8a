//! Every entry of docs/protocol-vectors.json: frames decode to their fields and encode to their
//! hex; malformed input fails with the listed code and request id.

use wirebus::codec::{self, ConsumerEntry, ErrorCode, Frame, FrameReader, ReadError, StartKind, StreamEntry};
use wirebus::json::{self, from_hex, to_hex, Json};

fn vectors() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol-vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {}", path, e));
    json::parse(&text).expect("vectors file is JSON")
}

/// The protocol version a vector is written in (v2 vectors say so; the default is 1).
fn version_of(v: &Json) -> u16 {
    v.get("protocolVersion").or_else(|| v.get("version")).and_then(|x| x.as_u64()).unwrap_or(1) as u16
}

fn n(v: u64) -> Json {
    Json::num(v)
}
fn s(v: &str) -> Json {
    Json::str(v)
}
fn recs(r: &[Vec<u8>]) -> Json {
    Json::Arr(r.iter().map(|x| s(&to_hex(x))).collect())
}
fn code_fields(code: u16) -> (Json, Json) {
    (n(code as u64), s(ErrorCode::from_u16(code).name()))
}
fn error_fields(fields: &[(u8, u64)]) -> Json {
    let names = ["", "lastSequence", "firstRetainedSequence", "retryAfterMillis", "lastProducerSequence"];
    // Decoders skip keys they do not know (docs/protocol.md section 4.4); the vectors list the
    // known ones, in key order.
    let mut known: Vec<(u8, u64)> =
        fields.iter().copied().filter(|(k, _)| (*k as usize) < names.len() && *k != 0).collect();
    known.sort_by_key(|(k, _)| *k);
    Json::Obj(known.iter().map(|(k, v)| (names[*k as usize].to_string(), n(*v))).collect())
}

/// The vector-style fields of a decoded frame.
fn fields_of(f: &Frame) -> Vec<(&'static str, Json)> {
    let mut out = vec![("requestId", n(f.request_id()))];
    match f {
        Frame::Hello { min_version, max_version, client_name, .. } => {
            out.extend([("minVersion", n(*min_version as u64)), ("maxVersion", n(*max_version as u64)), ("clientName", s(client_name))])
        }
        Frame::Welcome { version, max_frame_length, store_id, server_name, .. } => out.extend([
            ("version", n(*version as u64)),
            ("maxFrameLength", n(*max_frame_length as u64)),
            ("storeId", n(*store_id)),
            ("serverName", s(server_name)),
        ]),
        Frame::Ping { .. } | Frame::Pong { .. } | Frame::Ok { .. } => {}
        Frame::GoAway { code, message, .. } => {
            let (c, cn) = code_fields(*code);
            out.extend([("code", c), ("codeName", cn), ("message", s(message))])
        }
        Frame::Error { code, message, fields, .. } => {
            let (c, cn) = code_fields(*code);
            out.extend([("code", c), ("codeName", cn), ("message", s(message))]);
            if !fields.is_empty() {
                out.push(("errorFields", error_fields(fields)));
            }
        }
        Frame::Publish { stream, expected_sequence, payload, .. } => {
            out.extend([("stream", s(stream)), ("expectedSequence", n(*expected_sequence)), ("payloadHex", s(&to_hex(payload)))])
        }
        Frame::PublishBatch { stream, expected_sequence, records, .. } => {
            out.extend([("stream", s(stream)), ("expectedSequence", n(*expected_sequence)), ("recordsHex", recs(records))])
        }
        Frame::PublishAck { first_sequence, count, duplicate, .. } => {
            out.extend([("firstSequence", n(*first_sequence)), ("count", n(*count as u64)), ("duplicate", Json::Bool(*duplicate))])
        }
        Frame::PublishIdempotent { stream, expected_sequence, producer_id, producer_sequence, records, .. } => out.extend([
            ("stream", s(stream)),
            ("expectedSequence", n(*expected_sequence)),
            ("producerId", s(producer_id)),
            ("producerSequence", n(*producer_sequence)),
            ("recordsHex", recs(records)),
        ]),
        Frame::Subscribe { subscription_id, stream, start_kind, start_sequence, credits, .. } => out.extend([
            ("subscriptionId", n(*subscription_id as u64)),
            ("stream", s(stream)),
            ("startKind", s(start_kind.name())),
            ("startSequence", n(*start_sequence)),
            ("credits", n(*credits as u64)),
        ]),
        Frame::Subscribed { subscription_id, start_sequence, .. } => {
            out.extend([("subscriptionId", n(*subscription_id as u64)), ("startSequence", n(*start_sequence))])
        }
        Frame::Deliver { subscription_id, stream, first_sequence, records, .. } => out.extend([
            ("subscriptionId", n(*subscription_id as u64)),
            ("stream", s(stream)),
            ("firstSequence", n(*first_sequence)),
            ("recordsHex", recs(records)),
        ]),
        Frame::Credit { subscription_id, credits, .. } => {
            out.extend([("subscriptionId", n(*subscription_id as u64)), ("credits", n(*credits as u64))])
        }
        Frame::Unsubscribe { subscription_id, .. } => out.push(("subscriptionId", n(*subscription_id as u64))),
        Frame::SubscriptionClosed { subscription_id, code, message, fields, .. } => {
            let (c, cn) = code_fields(*code);
            out.extend([("subscriptionId", n(*subscription_id as u64)), ("code", c), ("codeName", cn), ("message", s(message))]);
            if !fields.is_empty() {
                out.push(("errorFields", error_fields(fields)));
            }
        }
        Frame::Consume { subscription_id, stream, consumer, start_kind, start_sequence, credits, ack_mode, max_lag, resume, .. } => out.extend([
            ("subscriptionId", n(*subscription_id as u64)),
            ("stream", s(stream)),
            ("consumer", s(consumer)),
            ("startKind", s(start_kind.name())),
            ("startSequence", n(*start_sequence)),
            ("credits", n(*credits as u64)),
            ("ackMode", n(*ack_mode as u64)),
            ("maxLag", n(*max_lag as u64)),
            ("resume", n(*resume as u64)),
        ]),
        Frame::Ack { subscription_id, sequence, .. } => {
            out.extend([("subscriptionId", n(*subscription_id as u64)), ("sequence", n(*sequence))])
        }
        Frame::Consumers { stream, .. } => out.push(("stream", s(stream))),
        Frame::ConsumerList { last_sequence, held_publishes, held_millis, rejected_publishes, consumers, .. } => out.extend([
            ("lastSequence", n(*last_sequence)),
            ("heldPublishes", n(*held_publishes as u64)),
            ("heldMillis", n(*held_millis)),
            ("rejectedPublishes", n(*rejected_publishes)),
            (
                "consumers",
                Json::Arr(
                    consumers
                        .iter()
                        .map(|c| Json::obj(vec![
                            ("name", s(&c.name)),
                            ("ackedSequence", n(c.acked_sequence)),
                            ("maxLag", n(c.max_lag as u64)),
                            ("connected", Json::Bool(c.connected)),
                        ]))
                        .collect(),
                ),
            ),
        ]),
        Frame::Fetch { stream, from_sequence, max_messages, .. } => out.extend([
            ("stream", s(stream)),
            ("fromSequence", n(*from_sequence)),
            ("maxMessages", n(*max_messages as u64)),
        ]),
        Frame::Fetched { last_sequence, first_sequence, records, .. } => {
            out.extend([("lastSequence", n(*last_sequence)), ("firstSequence", n(*first_sequence)), ("recordsHex", recs(records))])
        }
        Frame::Request { subject, timeout_millis, payload, .. } => {
            out.extend([("subject", s(subject)), ("timeoutMillis", n(*timeout_millis as u64)), ("payloadHex", s(&to_hex(payload)))])
        }
        Frame::Response { payload, .. } => out.push(("payloadHex", s(&to_hex(payload)))),
        Frame::RespondOn { subject, .. } | Frame::RespondOff { subject, .. } => out.push(("subject", s(subject))),
        Frame::Auth { mechanism, credential, .. } => out.extend([("mechanism", s(mechanism)), ("credentialHex", s(&to_hex(credential)))]),
        Frame::AuthOk { principal, expires_at_millis, .. } => {
            out.extend([("principal", s(principal)), ("expiresAtMillis", n(*expires_at_millis))])
        }
        Frame::Streams { after, max, .. } => out.extend([("after", s(after)), ("max", n(*max as u64))]),
        Frame::StreamList { streams, more, .. } => out.extend([
            ("streams", Json::Arr(streams.iter().map(stream_json).collect())),
            ("more", Json::Bool(*more)),
        ]),
        Frame::DeleteStream { stream, .. } => out.push(("stream", s(stream))),
        Frame::TrimStream { stream, before_sequence, .. } => out.extend([("stream", s(stream)), ("beforeSequence", n(*before_sequence))]),
        Frame::DeleteConsumer { stream, consumer, .. } => out.extend([("stream", s(stream)), ("consumer", s(consumer))]),
    }
    out
}

fn stream_json(e: &StreamEntry) -> Json {
    Json::obj(vec![
        ("name", s(&e.name)),
        ("firstSequence", n(e.first_sequence)),
        ("lastSequence", n(e.last_sequence)),
        ("bytes", n(e.bytes)),
        ("consumers", n(e.consumers as u64)),
    ])
}

fn stream_of(c: &Json) -> StreamEntry {
    StreamEntry {
        name: get_str(c, "name"),
        first_sequence: get_u64(c, "firstSequence"),
        last_sequence: get_u64(c, "lastSequence"),
        bytes: get_u64(c, "bytes"),
        consumers: get_u64(c, "consumers") as u32,
    }
}

/// A vector's field normalised to what `fields_of` writes (the doc and the vectors file have
/// used both a name and a number for startKind, and strings or objects for consumers).
fn normalise(key: &str, v: &Json) -> Json {
    match (key, v) {
        ("startKind", Json::Num(_)) => s(StartKind::from_u8(v.as_u64().unwrap() as u8).unwrap().name()),
        ("resume", Json::Bool(b)) => n(*b as u64),
        ("streams", Json::Arr(a)) => Json::Arr(a.iter().map(|c| stream_json(&stream_of(c))).collect()),
        ("ackMode", Json::Str(m)) => n(if m.eq_ignore_ascii_case("explicit") || m == "1" { 1 } else { 0 }),
        ("consumers", Json::Arr(a)) => Json::Arr(
            a.iter()
                .map(|c| match c {
                    Json::Str(t) => {
                        let p: Vec<&str> = t.split_whitespace().collect();
                        Json::obj(vec![
                            ("name", s(p[0])),
                            ("ackedSequence", n(p[1].parse().unwrap())),
                            ("maxLag", n(p[2].parse().unwrap())),
                            ("connected", Json::Bool(p[3] == "true" || p[3] == "1")),
                        ])
                    }
                    Json::Obj(_) => Json::obj(vec![
                        ("name", c.get("name").unwrap().clone()),
                        ("ackedSequence", c.get("ackedSequence").unwrap().clone()),
                        ("maxLag", c.get("maxLag").unwrap().clone()),
                        ("connected", match c.get("connected").unwrap() {
                            Json::Num(x) => Json::Bool(x == "1"),
                            other => other.clone(),
                        }),
                    ]),
                    other => panic!("consumer entry {:?}", other),
                })
                .collect(),
        ),
        ("errorFields", Json::Arr(a)) => Json::Obj(
            a.iter()
                .map(|e| {
                    let k = e.get("key").and_then(|k| k.as_u64()).unwrap();
                    let names = ["", "lastSequence", "firstRetainedSequence", "retryAfterMillis", "lastProducerSequence"];
                    (names.get(k as usize).filter(|x| !x.is_empty()).map(|x| x.to_string()).unwrap_or(k.to_string()), e.get("value").unwrap().clone())
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn get_u64(f: &Json, k: &str) -> u64 {
    f.get(k).and_then(|v| v.as_u64()).unwrap_or_else(|| panic!("field {} missing or not a number", k))
}
fn get_str(f: &Json, k: &str) -> String {
    f.get(k).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("field {} missing", k)).to_string()
}
fn get_hex(f: &Json, k: &str) -> Vec<u8> {
    from_hex(&get_str(f, k)).unwrap()
}
fn get_recs(f: &Json) -> Vec<Vec<u8>> {
    f.get("recordsHex").unwrap().as_array().unwrap().iter().map(|x| from_hex(x.as_str().unwrap()).unwrap()).collect()
}
fn get_kind(f: &Json) -> StartKind {
    match normalise("startKind", f.get("startKind").unwrap()).as_str().unwrap() {
        "EARLIEST" => StartKind::Earliest,
        "LATEST" => StartKind::Latest,
        "SEQUENCE" => StartKind::Sequence,
        k => panic!("startKind {}", k),
    }
}
fn get_error_fields(f: &Json) -> Vec<(u8, u64)> {
    let names = ["", "lastSequence", "firstRetainedSequence", "retryAfterMillis", "lastProducerSequence"];
    match f.get("errorFields") {
        None => vec![],
        Some(v) => normalise("errorFields", v)
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let key = names.iter().position(|x| x == k).map(|p| p as u8).unwrap_or_else(|| k.parse().unwrap());
                (key, v.as_u64().unwrap())
            })
            .collect(),
    }
}
fn get_code(f: &Json) -> u16 {
    f.get("code").and_then(|c| c.as_u64()).map(|c| c as u16).unwrap_or_else(|| ErrorCode::from_name(&get_str(f, "codeName")).unwrap().code())
}

/// The frame a vector's fields describe.
fn frame_of(ty: &str, f: &Json) -> Frame {
    let request_id = get_u64(f, "requestId");
    match ty {
        "HELLO" => Frame::Hello { request_id, min_version: get_u64(f, "minVersion") as u16, max_version: get_u64(f, "maxVersion") as u16, client_name: get_str(f, "clientName") },
        "WELCOME" => Frame::Welcome {
            request_id,
            version: get_u64(f, "version") as u16,
            max_frame_length: get_u64(f, "maxFrameLength") as u32,
            store_id: get_u64(f, "storeId"),
            server_name: get_str(f, "serverName"),
        },
        "PING" => Frame::Ping { request_id },
        "PONG" => Frame::Pong { request_id },
        "OK" => Frame::Ok { request_id },
        "GOAWAY" => Frame::GoAway { request_id, code: get_code(f), message: get_str(f, "message") },
        "ERROR" => Frame::Error { request_id, code: get_code(f), message: get_str(f, "message"), fields: get_error_fields(f) },
        "PUBLISH" => Frame::Publish { request_id, stream: get_str(f, "stream"), expected_sequence: get_u64(f, "expectedSequence"), payload: get_hex(f, "payloadHex") },
        "PUBLISH_BATCH" => Frame::PublishBatch { request_id, stream: get_str(f, "stream"), expected_sequence: get_u64(f, "expectedSequence"), records: get_recs(f) },
        "PUBLISH_ACK" => Frame::PublishAck {
            request_id,
            first_sequence: get_u64(f, "firstSequence"),
            count: get_u64(f, "count") as u32,
            duplicate: f.get("duplicate").and_then(|d| d.as_bool()).unwrap_or(false),
        },
        "PUBLISH_IDEMPOTENT" => Frame::PublishIdempotent {
            request_id,
            stream: get_str(f, "stream"),
            expected_sequence: get_u64(f, "expectedSequence"),
            producer_id: get_str(f, "producerId"),
            producer_sequence: get_u64(f, "producerSequence"),
            records: get_recs(f),
        },
        "SUBSCRIBE" => Frame::Subscribe {
            request_id,
            subscription_id: get_u64(f, "subscriptionId") as u32,
            stream: get_str(f, "stream"),
            start_kind: get_kind(f),
            start_sequence: get_u64(f, "startSequence"),
            credits: get_u64(f, "credits") as u32,
        },
        "SUBSCRIBED" => Frame::Subscribed { request_id, subscription_id: get_u64(f, "subscriptionId") as u32, start_sequence: get_u64(f, "startSequence") },
        "DELIVER" => Frame::Deliver {
            request_id,
            subscription_id: get_u64(f, "subscriptionId") as u32,
            stream: get_str(f, "stream"),
            first_sequence: get_u64(f, "firstSequence"),
            records: get_recs(f),
        },
        "CREDIT" => Frame::Credit { request_id, subscription_id: get_u64(f, "subscriptionId") as u32, credits: get_u64(f, "credits") as u32 },
        "UNSUBSCRIBE" => Frame::Unsubscribe { request_id, subscription_id: get_u64(f, "subscriptionId") as u32 },
        "SUBSCRIPTION_CLOSED" => Frame::SubscriptionClosed {
            request_id,
            subscription_id: get_u64(f, "subscriptionId") as u32,
            code: get_code(f),
            message: get_str(f, "message"),
            fields: get_error_fields(f),
        },
        "CONSUME" => Frame::Consume {
            request_id,
            subscription_id: get_u64(f, "subscriptionId") as u32,
            stream: get_str(f, "stream"),
            consumer: get_str(f, "consumer"),
            start_kind: get_kind(f),
            start_sequence: get_u64(f, "startSequence"),
            credits: get_u64(f, "credits") as u32,
            ack_mode: normalise("ackMode", f.get("ackMode").unwrap()).as_u64().unwrap() as u8,
            max_lag: get_u64(f, "maxLag") as u32,
            resume: normalise("resume", f.get("resume").unwrap()).as_u64().unwrap() == 1,
        },
        "ACK" => Frame::Ack { request_id, subscription_id: get_u64(f, "subscriptionId") as u32, sequence: get_u64(f, "sequence") },
        "CONSUMERS" => Frame::Consumers { request_id, stream: get_str(f, "stream") },
        "CONSUMER_LIST" => Frame::ConsumerList {
            request_id,
            last_sequence: get_u64(f, "lastSequence"),
            held_publishes: get_u64(f, "heldPublishes") as u32,
            held_millis: get_u64(f, "heldMillis"),
            rejected_publishes: get_u64(f, "rejectedPublishes"),
            consumers: normalise("consumers", f.get("consumers").unwrap())
                .as_array()
                .unwrap()
                .iter()
                .map(|c| ConsumerEntry {
                    name: get_str(c, "name"),
                    acked_sequence: get_u64(c, "ackedSequence"),
                    max_lag: get_u64(c, "maxLag") as u32,
                    connected: c.get("connected").unwrap().as_bool().unwrap(),
                })
                .collect(),
        },
        "FETCH" => Frame::Fetch { request_id, stream: get_str(f, "stream"), from_sequence: get_u64(f, "fromSequence"), max_messages: get_u64(f, "maxMessages") as u32 },
        "FETCHED" => Frame::Fetched { request_id, last_sequence: get_u64(f, "lastSequence"), first_sequence: get_u64(f, "firstSequence"), records: get_recs(f) },
        "REQUEST" => Frame::Request { request_id, subject: get_str(f, "subject"), timeout_millis: get_u64(f, "timeoutMillis") as u32, payload: get_hex(f, "payloadHex") },
        "RESPONSE" => Frame::Response { request_id, payload: get_hex(f, "payloadHex") },
        "RESPOND_ON" => Frame::RespondOn { request_id, subject: get_str(f, "subject") },
        "RESPOND_OFF" => Frame::RespondOff { request_id, subject: get_str(f, "subject") },
        "AUTH" => Frame::Auth { request_id, mechanism: get_str(f, "mechanism"), credential: get_hex(f, "credentialHex") },
        "AUTH_OK" => Frame::AuthOk { request_id, principal: get_str(f, "principal"), expires_at_millis: get_u64(f, "expiresAtMillis") },
        "STREAMS" => Frame::Streams { request_id, after: get_str(f, "after"), max: get_u64(f, "max") as u32 },
        "STREAM_LIST" => Frame::StreamList {
            request_id,
            streams: f.get("streams").unwrap().as_array().unwrap().iter().map(stream_of).collect(),
            more: f.get("more").unwrap().as_bool().unwrap(),
        },
        "DELETE_STREAM" => Frame::DeleteStream { request_id, stream: get_str(f, "stream") },
        "TRIM_STREAM" => Frame::TrimStream { request_id, stream: get_str(f, "stream"), before_sequence: get_u64(f, "beforeSequence") },
        "DELETE_CONSUMER" => Frame::DeleteConsumer { request_id, stream: get_str(f, "stream"), consumer: get_str(f, "consumer") },
        t => panic!("unknown vector type {}", t),
    }
}

#[test]
fn every_frame_vector_decodes_to_its_fields_and_encodes_to_its_hex() {
    let v = vectors();
    let frames = v.get("frames").unwrap().as_array().unwrap();
    assert!(frames.len() >= 40, "only {} frame vectors", frames.len());
    let mut checked = 0;
    for vec in frames {
        let name = vec.get("name").unwrap().as_str().unwrap();
        let ty = vec.get("type").unwrap().as_str().unwrap();
        let hex = vec.get("hex").unwrap().as_str().unwrap();
        let want = vec.get("fields").unwrap();
        let version = version_of(vec);
        let bytes = from_hex(hex).unwrap();
        let got = codec::decode(&bytes, version).unwrap_or_else(|e| panic!("{}: does not decode: {}", name, e));
        assert_eq!(got.type_name(), ty, "{}", name);
        let got_fields = fields_of(&got);
        for (k, wv) in want.as_object().unwrap() {
            let gv = got_fields.iter().find(|(gk, _)| gk == k).map(|(_, v)| v.clone());
            let gv = gv.unwrap_or_else(|| {
                if k == "errorFields" {
                    Json::Obj(vec![])
                } else {
                    panic!("{}: decoded frame has no field {}", name, k)
                }
            });
            assert_eq!(gv, normalise(k, wv), "{}: field {}", name, k);
        }
        for (k, _) in &got_fields {
            assert!(want.get(k).is_some(), "{}: vector lacks field {} that the frame has", name, k);
        }
        // the frame built from the fields is the decoded one, and encodes to the hex
        let built = frame_of(ty, want);
        assert_eq!(built, got, "{}: frame from fields", name);
        if vec.get("decodeOnly").and_then(|d| d.as_bool()) != Some(true) {
            assert_eq!(to_hex(&codec::encode(&built, version)), hex.to_lowercase(), "{}: encoding", name);
        }
        checked += 1;
    }
    assert_eq!(checked, frames.len());
}

#[test]
fn every_malformed_vector_fails_with_its_code_and_request_id() {
    let v = vectors();
    let max = v.get("maxFrameLength").and_then(|m| m.as_u64()).unwrap() as u32;
    let list = v.get("malformed").unwrap().as_array().unwrap();
    assert!(list.len() >= 20);
    for vec in list {
        let name = vec.get("name").unwrap().as_str().unwrap();
        let bytes = from_hex(vec.get("hex").unwrap().as_str().unwrap()).unwrap();
        let want = ErrorCode::from_name(vec.get("error").unwrap().as_str().unwrap()).unwrap();
        let want_id = vec.get("requestId").unwrap().as_u64().unwrap();
        let end_of_input = vec.get("endOfInput").and_then(|b| b.as_bool()) == Some(true);
        // fed as a stream: frames before the bad one decode; the bad one fails
        let mut r = FrameReader::new(&bytes[..], max, version_of(vec));
        let err = loop {
            match r.read_frame() {
                Ok(_) => continue,
                Err(ReadError::Frame(e)) => break e,
                Err(ReadError::Eof) => panic!("{}: input ended without an error", name),
                Err(ReadError::Io(e)) => panic!("{}: {}", name, e),
            }
        };
        assert_eq!((err.code, err.request_id), (want, want_id), "{}: {}", name, err.message);
        if end_of_input {
            // without the end of input, nothing fails yet: the reader waits for more bytes
            struct Pending<'a>(&'a [u8]);
            impl std::io::Read for Pending<'_> {
                fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                    if self.0.is_empty() {
                        return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "more to come"));
                    }
                    let k = b.len().min(self.0.len());
                    b[..k].copy_from_slice(&self.0[..k]);
                    self.0 = &self.0[k..];
                    Ok(k)
                }
            }
            let mut r = FrameReader::new(Pending(&bytes), max, 1);
            loop {
                match r.read_frame() {
                    Ok(_) => continue,
                    Err(ReadError::Io(e)) => {
                        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{}", name);
                        break;
                    }
                    Err(e) => panic!("{}: failed before the input ended: {}", name, e),
                }
            }
        } else if bytes.len() >= 4 {
            // as one whole frame too (when the length field is readable)
            let whole = codec::decode(&bytes, version_of(vec));
            if u32::from_be_bytes(bytes[0..4].try_into().unwrap()) <= max {
                let e = whole.expect_err(name);
                assert_eq!((e.code, e.request_id), (want, want_id), "{} decoded whole", name);
            }
        }
    }
}
