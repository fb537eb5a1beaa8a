package dev.wirebus.security;

import javax.security.auth.x500.X500Principal;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;

/**
 * Maps a verified TLS client certificate's subject to a principal. Subjects are written as
 * distinguished names ({@code CN=committer,O=Example}) and compared in canonical form (case and
 * spacing do not matter), so a certificate matches only the exact name listed. A certificate of no
 * listed subject is {@link Principal#ANONYMOUS} (it may still send AUTH).
 *
 * <pre>{@code
 * TlsPeerMapping m = TlsPeerMapping.builder().subject("CN=committer,O=Example", "committer").build();
 * }</pre>
 */
public final class TlsPeerMapping {
    /** No mapping. */
    public static final TlsPeerMapping NONE = new TlsPeerMapping(Map.of());

    private final Map<String, String> bySubject;

    private TlsPeerMapping(Map<String, String> bySubject) {
        this.bySubject = bySubject;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether any subject is mapped. */
    public boolean isEmpty() {
        return bySubject.isEmpty();
    }

    /** The principal of a client that presented this (verified) certificate. */
    public Principal principalFor(X509Certificate certificate) {
        String name = bySubject.get(certificate.getSubjectX500Principal().getName(X500Principal.CANONICAL));
        return name == null ? Principal.ANONYMOUS : new Principal(name, Principal.TLS);
    }

    /** Collects subject mappings. */
    public static final class Builder {
        private final Map<String, String> bySubject = new HashMap<>();

        private Builder() {
        }

        /**
         * Clients whose certificate has {@code subject} are {@code principal}.
         *
         * @throws IllegalArgumentException when {@code subject} is not a distinguished name
         */
        public Builder subject(String subject, String principal) {
            String canonical = new X500Principal(subject).getName(X500Principal.CANONICAL);
            String previous = bySubject.putIfAbsent(canonical, principal);
            if (previous != null && !previous.equals(principal)) {
                throw new IllegalArgumentException("TLS subject '" + subject + "' is mapped to both '" + previous
                        + "' and '" + principal + "'");
            }
            return this;
        }

        public TlsPeerMapping build() {
            return bySubject.isEmpty() ? NONE : new TlsPeerMapping(Map.copyOf(bySubject));
        }
    }
}
