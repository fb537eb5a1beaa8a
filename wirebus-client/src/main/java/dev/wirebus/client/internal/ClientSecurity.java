package dev.wirebus.client.internal;

import javax.net.ssl.SSLContext;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The client's security settings: the credential sent in AUTH after every handshake (null: none),
 * and how {@code tls://} addresses verify the broker (a PEM CA bundle, or an {@link SSLContext} of
 * the caller's; neither: the JDK's default trust) and, for mutual TLS, the client's own PEM
 * certificate and PKCS#8 key.
 */
public record ClientSecurity(Supplier<String> credentials, Path trustedCertificates, Path clientCertificate,
                             Path clientKey, SSLContext sslContext) {
    public static final ClientSecurity NONE = new ClientSecurity(null, null, null, null, null);

    public ClientSecurity withCredentials(Supplier<String> c) {
        return new ClientSecurity(c, trustedCertificates, clientCertificate, clientKey, sslContext);
    }

    public ClientSecurity withTrustedCertificates(Path pem) {
        return new ClientSecurity(credentials, pem, clientCertificate, clientKey, sslContext);
    }

    public ClientSecurity withClientCertificate(Path certPem, Path keyPem) {
        return new ClientSecurity(credentials, trustedCertificates, certPem, keyPem, sslContext);
    }

    public ClientSecurity withSslContext(SSLContext context) {
        return new ClientSecurity(credentials, trustedCertificates, clientCertificate, clientKey, context);
    }
}
