package dev.wirebus.systemtests;

import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.security.TestCertificates;
import dev.wirebus.testing.EmbeddedBroker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertDenied;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * TLS on the broker's TCP listener: a client that trusts the broker's CA speaks the protocol over
 * TLS; a client that does not, a plain-text client and (with mutual TLS) a client without a
 * certificate of the client CA are refused at the handshake, and the broker goes on serving; a
 * client certificate's subject is the connection's principal.
 */
class TlsListenerTest {
    @TempDir
    Path dir;
    private EmbeddedBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private void start(boolean requireClientCert) throws Exception {
        TestCertificates.ca(dir);
        TestCertificates.signed(dir, "server", "/CN=localhost");
        TestCertificates.signed(dir, "committer", "/O=wirebus tests/CN=committer");
        String config = "[security.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n"
                + (requireClientCert ? "client-ca = \"ca.pem\"\nrequire-client-cert = true\n" : "")
                + "[security.principals.committer]\n"
                + "tokens = [\"" + dev.wirebus.security.TokenHash.of("committer-token") + "\"]\n"
                + "tls-subjects = [\"CN=committer,O=wirebus tests\"]\npublish = [\"blocks\"]\n";
        var security = SecurityFixtures.parse(dir, config);
        broker = EmbeddedBroker.start(b -> b.security(security));
    }

    @Test
    void aClientTrustingTheCaSpeaksTheProtocolOverTls() throws Exception {
        start(false);
        try (TlsPeer c = TlsPeer.connect(broker, trust(dir.resolve("ca.pem")), null)) {
            assertThat(c.socket.getSession().getProtocol()).isIn("TLSv1.3", "TLSv1.2");
            c.send(SecurityFixtures.auth(2, "committer-token"));
            assertThat(c.read()).isInstanceOf(Frame.AuthOk.class);
            c.send(SecurityFixtures.publish(3, "blocks"));
            assertThat(c.read()).isInstanceOf(Frame.PublishAck.class);
        }
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateFailsTheHandshakeCleanly() throws Exception {
        start(false);
        Path other = Files.createDirectories(dir.resolve("other"));
        TestCertificates.ca(other);
        assertThatThrownBy(() -> TlsPeer.connect(broker, trust(other.resolve("ca.pem")), null).close())
                .isInstanceOf(SSLException.class);
        // the broker goes on serving
        try (TlsPeer c = TlsPeer.connect(broker, trust(dir.resolve("ca.pem")), null)) {
            c.send(new Frame.Ping(5));
            assertThat(c.read()).isInstanceOf(Frame.Pong.class);
        }
    }

    @Test
    void aPlainTextClientIsClosed() throws Exception {
        start(false);
        try (RawConnection c = RawConnection.open(broker, EmbeddedBroker.Transport.TCP)) {
            c.send(new Frame.Hello(1, 1, 2, "plain"));
            assertThat(c.closedByPeer(WAIT)).isTrue();
        }
    }

    @Test
    void withMutualTlsTheCertificateSubjectIsThePrincipal() throws Exception {
        start(true);
        try (TlsPeer c = TlsPeer.connect(broker, trust(dir.resolve("ca.pem")),
                keys(dir.resolve("committer.pem"), dir.resolve("committer.key")))) {
            c.send(SecurityFixtures.publish(2, "blocks"));
            assertThat(c.read()).isInstanceOf(Frame.PublishAck.class);
            c.send(SecurityFixtures.subscribe(3, 1, "blocks"));
            Frame denied = c.read();
            assertDenied(denied, 3, "read", "blocks");
            assertThat(((Frame.Error) denied).message()).contains("'committer'");
        }
    }

    @Test
    void withMutualTlsAClientWithoutACertificateOfTheClientCaIsRefused() throws Exception {
        start(true);
        Path other = Files.createDirectories(dir.resolve("other"));
        TestCertificates.ca(other);
        TestCertificates.signed(other, "intruder", "/CN=committer");
        for (KeyManagerFactory clientKeys : new KeyManagerFactory[] {null,
                keys(other.resolve("intruder.pem"), other.resolve("intruder.key"))}) {
            // TLS 1.3 sends the refusal after the client's side of the handshake: it shows at the first read
            assertThatThrownBy(() -> {
                try (TlsPeer c = TlsPeer.connect(broker, trust(dir.resolve("ca.pem")), clientKeys)) {
                    c.read();
                }
            }).isInstanceOfAny(SSLException.class, SocketException.class, EOFException.class);
        }
        try (TlsPeer c = TlsPeer.connect(broker, trust(dir.resolve("ca.pem")),
                keys(dir.resolve("committer.pem"), dir.resolve("committer.key")))) {
            c.send(new Frame.Ping(5));
            assertThat(c.read()).isInstanceOf(Frame.Pong.class);
        }
    }

    static TrustManagerFactory trust(Path caPem) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf;
    }

    static KeyManagerFactory keys(Path certPem, Path keyPem) throws Exception {
        String pem = Files.readString(keyPem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        Certificate cert;
        try (InputStream in = Files.newInputStream(certPem)) {
            cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("me", key, new char[0], new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        return kmf;
    }

    /** A protocol peer over a TLS socket, handshaken (HELLO/WELCOME in version 2); reads time out. */
    static final class TlsPeer implements AutoCloseable {
        final SSLSocket socket;
        private final DataInputStream in;
        private int version = 1;

        private TlsPeer(SSLSocket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
        }

        static TlsPeer connect(EmbeddedBroker broker, TrustManagerFactory trust, KeyManagerFactory keys)
                throws Exception {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", broker.broker().tcpAddress().getPort());
            s.setSoTimeout((int) WAIT.toMillis());
            TlsPeer p = new TlsPeer(s);
            try {
                s.startHandshake();
                p.send(new Frame.Hello(1, 1, 2, "tls"));
                Frame w = p.read();
                if (!(w instanceof Frame.Welcome welcome)) {
                    throw new IOException("expected WELCOME, got " + w);
                }
                p.version = welcome.version();
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
            return p;
        }

        void send(Frame f) throws IOException {
            ByteBuf buf = FrameCodec.encode(f, UnpooledByteBufAllocator.DEFAULT, version);
            try {
                socket.getOutputStream().write(ByteBufUtil.getBytes(buf));
                socket.getOutputStream().flush();
            } finally {
                buf.release();
            }
        }

        Frame read() throws IOException {
            int len = in.readInt();
            byte[] body = new byte[len];
            in.readFully(body);
            return FrameCodec.decode(Unpooled.wrappedBuffer(body), version);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
