package dev.wirebus.security;

import java.nio.file.Path;

/**
 * Where a TLS listener's PEM files are: its certificate chain, its private key (PKCS#8,
 * {@code BEGIN PRIVATE KEY}), and optionally the CA certificates that client certificates must
 * chain to (mutual TLS).
 *
 * @param certificateChain PEM certificate chain, the listener's own certificate first
 * @param privateKey       PEM PKCS#8 private key of that certificate
 * @param clientCa         PEM CA certificates for client certificates, or null for no mutual TLS
 * @param requireClientCertificate with a client CA: refuse clients without a certificate (true),
 *                         or let them in as anonymous, to authenticate with AUTH (false)
 */
public record TlsFiles(Path certificateChain, Path privateKey, Path clientCa, boolean requireClientCertificate) {
    public TlsFiles {
        if (certificateChain == null || privateKey == null) {
            throw new IllegalArgumentException("TLS needs a certificate file and a key file");
        }
    }
}
