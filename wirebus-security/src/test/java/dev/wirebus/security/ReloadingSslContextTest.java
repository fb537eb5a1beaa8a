package dev.wirebus.security;

import io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReloadingSslContextTest {
    @TempDir
    Path dir;

    @Test
    void buildsFromPemFilesWithTls12AndAbove() throws Exception {
        TestCertificates.ca(dir);
        TestCertificates.signed(dir, "server", "/CN=localhost");
        ReloadingSslContext tls = ReloadingSslContext.open(new TlsFiles(dir.resolve("server.pem"),
                dir.resolve("server.key"), dir.resolve("ca.pem"), true), Duration.ZERO);
        SslContext ctx = tls.current();
        assertThat(ctx.isServer()).isTrue();
        javax.net.ssl.SSLEngine engine = ctx.newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT);
        assertThat(engine.getEnabledProtocols()).containsOnly("TLSv1.3", "TLSv1.2");
        assertThat(engine.getNeedClientAuth()).isTrue();
    }

    @Test
    void rebuildsWhenTheCertificateChangesAndKeepsTheOldOneWhenTheNewFilesAreBroken() throws Exception {
        TestCertificates.ca(dir);
        TestCertificates.signed(dir, "server", "/CN=localhost");
        TestCertificates.signed(dir, "renewed", "/CN=renewed");
        Path cert = dir.resolve("server.pem");
        Path key = dir.resolve("server.key");
        ReloadingSslContext tls = ReloadingSslContext.open(new TlsFiles(cert, key, null, false), Duration.ZERO);
        SslContext first = tls.current();
        assertThat(tls.reloadIfChanged()).isFalse();

        Files.copy(dir.resolve("renewed.pem"), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("renewed.key"), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // modification times are coarse on some file systems: make the change visible whatever the resolution
        Files.setLastModifiedTime(cert, FileTime.from(Instant.now().plusSeconds(5)));
        SslContext second = tls.current();
        assertThat(second).isNotSameAs(first);

        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nbroken\n");
        Files.setLastModifiedTime(cert, FileTime.from(Instant.now().plusSeconds(10)));
        assertThat(tls.reloadIfChanged()).isFalse();
        assertThat(tls.current()).isSameAs(second);
    }

    @Test
    void refusesMissingFilesNamingThem() {
        assertThatThrownBy(() -> ReloadingSslContext.open(new TlsFiles(dir.resolve("nope.pem"), dir.resolve("nope.key"),
                null, false), Duration.ZERO)).hasMessageContaining("nope.pem");
    }

    @Test
    void mapsClientCertificateSubjectsToPrincipals() throws Exception {
        TestCertificates.ca(dir);
        TestCertificates.signed(dir, "committer", "/O=Example/CN=committer");
        TestCertificates.signed(dir, "other", "/CN=other");
        TlsPeerMapping m = TlsPeerMapping.builder().subject("cn=committer, o=Example", "committer").build();
        assertThat(m.principalFor(read(dir.resolve("committer.pem")))).isEqualTo(new Principal("committer", "tls"));
        assertThat(m.principalFor(read(dir.resolve("other.pem")))).isEqualTo(Principal.ANONYMOUS);
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
