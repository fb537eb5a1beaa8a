package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS for {@code tls://} addresses: one client {@link SslContext} per client, built from
 * {@link ClientSecurity}, and an {@link SslHandler} per connection that verifies the broker's
 * certificate against the trusted CAs and its host name (TLS 1.2 and 1.3 only). Change TLS here.
 */
final class ClientTls {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SslContext context;

    private ClientTls(SslContext context) {
        this.context = context;
    }

    /** Builds the context, or throws an {@link IllegalArgumentException} naming the file that is wrong. */
    static ClientTls of(ClientSecurity s) {
        if (s.sslContext() != null) {
            return new ClientTls(new JdkSslContext(s.sslContext(), true, null, io.netty.handler.ssl.IdentityCipherSuiteFilter.INSTANCE,
                    ApplicationProtocolConfig.DISABLED, ClientAuth.NONE, PROTOCOLS, false));
        }
        try {
            SslContextBuilder b = SslContextBuilder.forClient().protocols(PROTOCOLS);
            if (s.trustedCertificates() != null) {
                b.trustManager(s.trustedCertificates().toFile());
            }
            if (s.clientCertificate() != null) {
                b.keyManager(s.clientCertificate().toFile(), s.clientKey().toFile());
            }
            return new ClientTls(b.build());
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot set up TLS from trusted certificates " + s.trustedCertificates()
                    + (s.clientCertificate() != null ? " and client certificate " + s.clientCertificate() : "")
                    + ": " + e.getMessage(), e);
        }
    }

    /** A handler for one connection to {@code host:port}, checking the broker's name against its certificate. */
    SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        SslHandler h = context.newHandler(alloc, host, port);
        SSLEngine engine = h.engine();
        SSLParameters p = engine.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(p);
        return h;
    }

    static ConnectionException handshakeFailure(ClientOptions.Target target, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new ConnectionException("TLS handshake with " + target + " failed: " + root.getMessage()
                + " (is the broker's certificate issued by a trusted CA, for this host name?)", cause);
    }
}
