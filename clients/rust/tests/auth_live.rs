//! Access control against the real broker (issue 13): a broker started with a [security] table
//! (static tokens stored as SHA-256 hashes, computed beforehand: this crate has no hash function
//! and takes no dependencies). Skipped, saying so, when the broker has no access control (it does
//! not know the [security] table).

mod common;

use common::Broker;
use wirebus::*;

// printf %s rust-writer-token | sha256sum, and rust-reader-token
const WRITER_HASH: &str = "sha256:ff296e5ab363165539373ec8b8a7c650f222f5e3c273444e558dcc976e458c02";
const READER_HASH: &str = "sha256:6b396278484f2687a414d328efaf39b1a5c3ff378eb004a47e61876b95d02a6b";
// and rust-operator-token
const OPERATOR_HASH: &str = "sha256:2832d64d59abdce8a4192669351e15c7a6886acadf01ce0c83b0d07b4e884ab2";

fn secure_broker(tag: &str) -> Option<Broker> {
    let dir = std::env::temp_dir().join(format!("wirebus-rust-auth-{}-{}", std::process::id(), tag));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("wirebus.toml");
    std::fs::write(
        &config,
        format!(
            "[security]\n[security.principals.writer]\ntokens = [\"{}\"]\npublish = [\"auth.>\"]\nread = [\"auth.>\"]\n\
             [security.principals.reader]\ntokens = [\"{}\"]\nread = [\"auth.>\"]\n\
             [security.principals.operator]\ntokens = [\"{}\"]\nadmin = [\"auth.>\"]\npublish = [\"auth.>\"]\n",
            WRITER_HASH, READER_HASH, OPERATOR_HASH
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap().to_string();
    match Broker::try_spawn(&["serve", "--store", "memory", "--no-uds", "--tcp", "127.0.0.1:0", "--http", "off", "--config", &c]) {
        Ok(b) => Some(b),
        Err(e) if e.contains("[security]: unknown table") => {
            eprintln!("SKIPPED: this broker has no access control (it does not know the [security] table)");
            None
        }
        Err(e) => panic!("starting a broker with access control: {}", e),
    }
}

#[test]
fn tokens_permissions_reauth_and_refusal_against_the_broker() {
    let b = match secure_broker("tokens") {
        Some(b) => b,
        None => return,
    };
    let opts = |t: &str| ClientOptions::new(&[&b.address]).name("auth-live").token(t);
    let w = Client::connect(opts("rust-writer-token")).unwrap();
    let r = Client::connect(opts("rust-reader-token")).unwrap();
    assert_eq!(w.principal().unwrap().principal, "writer");
    assert_eq!(r.principal().unwrap().principal, "reader");
    assert_eq!(w.publish("auth.s", b"1").unwrap(), 1);
    match r.publish("auth.s", b"2") {
        Err(Error::PermissionDenied { message }) => assert!(message.contains("auth.s"), "{}", message),
        other => panic!("reader publish: {:?}", other),
    }
    assert!(matches!(w.publish("other", b"3"), Err(Error::PermissionDenied { .. })));
    assert_eq!(r.fetch("auth.s", 1, 10).unwrap().messages.len(), 1, "the denial left the connection usable");
    assert_eq!(r.auth("rust-writer-token").unwrap().principal, "writer");
    assert_eq!(r.publish("auth.s", b"4").unwrap(), 2);
    let e = Client::connect(opts("nobody-token")).err().unwrap();
    assert!(matches!(e, Error::AuthFailed { .. }), "{:?}", e);
}

#[test]
fn admin_operations_against_the_broker() {
    let b = match secure_broker("admin") {
        Some(b) => b,
        None => return,
    };
    let opts = |t: &str| ClientOptions::new(&[&b.address]).name("auth-admin").token(t);
    let op = Client::connect(opts("rust-operator-token")).unwrap();
    let r = Client::connect(opts("rust-reader-token")).unwrap();
    op.publish_batch("auth.admin", &[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()], &PublishOptions::default()).unwrap();
    let page = op.streams("", 1000).unwrap();
    let mine: Vec<_> = page.streams.iter().filter(|s| s.name == "auth.admin").collect();
    assert_eq!(mine.len(), 1, "{:?}", page);
    assert_eq!((mine[0].first_sequence, mine[0].last_sequence), (1, 3));
    assert!(!page.more);
    op.trim_stream("auth.admin", 3).unwrap();
    assert!(matches!(r.trim_stream("auth.admin", 3), Err(Error::PermissionDenied { .. })));
    assert_eq!(op.delete_consumer("auth.admin", "nobody").unwrap_err().name(), "NOT_FOUND");
}
