package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.security.AccessPolicy;
import dev.wirebus.protocol.Frame;
import dev.wirebus.security.Authentication;
import dev.wirebus.security.AuthenticationException;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;
import dev.wirebus.security.SecurityConfig;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Who is on one connection and what it may do. The principal starts as the Unix socket peer's
 * (its uid/gid from {@code SO_PEERCRED}, epoll only), the TLS client certificate's subject, or
 * anonymous; an AUTH frame replaces it with its credential's. A credential that expires closes the
 * connection with AUTH_EXPIRED at its expiry unless a fresh AUTH came first. After a configuration
 * reload (and after each AUTH) the connection's subscriptions and responders are checked again and
 * the ones no longer allowed are closed with PERMISSION_DENIED.
 *
 * <p>Event loop only, except construction.
 */
public final class ConnectionSecurity {
    private static final Logger log = LoggerFactory.getLogger(ConnectionSecurity.class);

    private final BrokerSecurity broker;
    private final ConnectionHandler handler;
    private Channel channel;
    private Principal principal = Principal.ANONYMOUS;
    /** The credential of the last AUTH, re-checked on reload; null while the principal is the peer's. */
    private byte[] credential;
    private String mechanism;
    private long expiresAtMillis;
    private ScheduledFuture<?> expiry;
    private PeerCredentials peer;
    private X509Certificate certificate;

    ConnectionSecurity(BrokerSecurity broker, ConnectionHandler handler) {
        this.broker = broker;
        this.handler = handler;
    }

    /** The connection's principal now. */
    public Principal principal() {
        return principal;
    }

    /** Reads the Unix peer's credentials; called when the connection becomes active. */
    void attach(Channel channel) {
        this.channel = channel;
        if (channel instanceof EpollDomainSocketChannel uds) {
            try {
                peer = uds.peerCredentials();
            } catch (java.io.IOException | RuntimeException e) {
                log.debug("no peer credentials on {}: {}", channel, e.toString());
            }
        }
        if (broker.enabled()) {
            setPrincipal(peerPrincipal(broker.current()));
        }
    }

    /**
     * Takes the TLS client certificate, if any, once the handshake is done (the first frame
     * arrives after it).
     */
    void handshaken() {
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return;
        }
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            if (chain.length > 0 && chain[0] instanceof X509Certificate x) {
                certificate = x;
            }
        } catch (SSLPeerUnverifiedException e) {
            // no client certificate: anonymous until AUTH
        }
        if (broker.enabled() && credential == null) {
            setPrincipal(peerPrincipal(broker.current()));
        }
    }

    /** The connection's principal is this one from now on; the dispatch table checks frames against it. */
    private void setPrincipal(Principal p) {
        principal = p;
        handler.principal(p);
    }

    private Principal peerPrincipal(SecurityConfig c) {
        if (peer != null) {
            return c.unixPeers().principalFor(peer.uid(), peer.gids());
        }
        if (certificate != null) {
            return c.tlsPeers().principalFor(certificate);
        }
        return Principal.ANONYMOUS;
    }

    /** Event loop: the last check allowed, so a stream published to again and again costs one equals. */
    private AccessPolicy lastPolicy;
    private Principal lastPrincipal;
    private Operation lastOperation;
    private String lastResource;

    /**
     * Event loop: whether {@code policy} allows the operation (the dispatch table's check). The last
     * allowed check is remembered: the same policy, principal, operation and resource again is
     * answered without asking the policy (a reload installs a new policy, an AUTH a new principal).
     */
    boolean allows(AccessPolicy policy, Principal p, Operation op, String resource) {
        if (policy == lastPolicy && p == lastPrincipal && op == lastOperation && resource.equals(lastResource)) {
            return true;
        }
        if (!policy.allows(p, op, resource)) {
            return false;
        }
        lastPolicy = policy;
        lastPrincipal = p;
        lastOperation = op;
        lastResource = resource;
        return true;
    }

    /** Records a denial the dispatch table answered with PERMISSION_DENIED: counter and audit line. */
    void denied(Operation op, String resource) {
        denied(broker.current(), op, resource, "permission");
    }

    /** Whether the principal may do {@code op} on {@code resource} now (STREAMS listing, re-checks). */
    boolean allows(Operation op, String resource) {
        SecurityConfig c = broker.current();
        return !c.enabled() || c.policy().allows(principal, op, resource);
    }

    private void denied(SecurityConfig c, Operation op, String resource, String reason) {
        broker.metrics().denied(SecurityMetrics.tag(principal, c.rules()::isConfigured), op, reason);
        if (reason.equals("revoked")) {
            broker.audit().revoked(principal, op, resource, peerDescription());
        } else {
            broker.audit().denied(principal, op, resource, peerDescription());
        }
    }

    private String peerDescription() {
        if (peer != null) {
            return "unix uid " + peer.uid();
        }
        return String.valueOf(channel == null ? "?" : channel.remoteAddress());
    }

    /**
     * Answers an AUTH: AUTH_OK with the new principal, or ERROR AUTH_FAILED and close. With access
     * control off every credential is accepted and the principal stays anonymous.
     */
    void authenticate(Frame.Auth f) {
        SecurityConfig c = broker.current();
        if (!c.enabled()) {
            channel.write(new Frame.AuthOk(f.requestId(), principal.name(), 0));
            return;
        }
        Authentication a;
        try {
            a = verify(c, f.mechanism(), f.credential(), broker);
        } catch (AuthenticationException e) {
            broker.metrics().authFailed(e.reason());
            broker.audit().authFailed(e.reason(), peerDescription());
            handler.closeWithError(f.requestId(), ErrorCode.AUTH_FAILED, e.getMessage());
            return;
        }
        credential = f.credential().clone();
        mechanism = f.mechanism();
        become(a);
        broker.metrics().authSucceeded(a.principal().mechanism());
        channel.write(new Frame.AuthOk(f.requestId(), principal.name(), expiresAtMillis));
        revokeDisallowed(c);
    }

    private static Authentication verify(SecurityConfig c, String mechanism, byte[] credential, BrokerSecurity broker)
            throws AuthenticationException {
        if (Frame.Auth.BEARER.equals(mechanism) && broker.isInternal(credential)) {
            return new Authentication(BrokerSecurity.INTERNAL, 0);
        }
        Authentication a = c.authenticator().authenticate(mechanism, credential);
        if (a.expiresAtMillis() != 0 && a.expiresAtMillis() <= System.currentTimeMillis()) {
            // the JWT clock skew admits a token just past exp; a connection would be closed at once
            throw new AuthenticationException(AuthenticationException.Reason.EXPIRED, "credential expired at "
                    + Instant.ofEpochMilli(a.expiresAtMillis()));
        }
        return a;
    }

    private void become(Authentication a) {
        setPrincipal(a.principal());
        expiresAtMillis = a.expiresAtMillis();
        if (expiry != null) {
            expiry.cancel(false);
            expiry = null;
        }
        if (expiresAtMillis != 0) {
            long delay = Math.max(0, expiresAtMillis - System.currentTimeMillis());
            Principal p = principal;
            expiry = channel.eventLoop().schedule(() -> expire(p), delay, TimeUnit.MILLISECONDS);
        }
    }

    private void expire(Principal p) {
        if (principal != p) {
            return; // a fresh AUTH replaced it
        }
        broker.metrics().expired();
        broker.audit().expired(p, peerDescription());
        handler.closeWithError(0, ErrorCode.AUTH_EXPIRED, "the credential of '" + p.name() + "' expired at "
                + Instant.ofEpochMilli(expiresAtMillis) + " and no fresh AUTH came");
    }

    /**
     * After a reload: the credential is checked again (a removed token closes the connection with
     * AUTH_FAILED), the peer's principal is mapped again, and what is no longer allowed is closed.
     */
    void recheck() {
        if (channel == null || !channel.isActive()) {
            return;
        }
        SecurityConfig c = broker.current();
        if (!c.enabled()) {
            return;
        }
        if (credential != null) {
            try {
                Authentication a = verify(c, mechanism, credential, broker);
                Principal before = principal;
                become(a);
                if (!before.equals(principal)) {
                    log.info("principal of {} is now '{}' after a reload", peerDescription(), principal.name());
                }
            } catch (AuthenticationException e) {
                broker.metrics().authFailed(e.reason());
                broker.audit().authFailed(e.reason(), peerDescription());
                handler.closeWithError(0, ErrorCode.AUTH_FAILED, "credential no longer accepted after a configuration"
                        + " reload: " + e.getMessage());
                return;
            }
        } else {
            setPrincipal(peerPrincipal(c));
        }
        revokeDisallowed(c);
        channel.flush();
    }

    private void revokeDisallowed(SecurityConfig c) {
        handler.revokeWhere((op, resource) -> {
            if (c.policy().allows(principal, op, resource)) {
                return null;
            }
            denied(c, op, resource, "revoked");
            return op.word() + " on '" + resource + "' is no longer permitted for '" + principal.name() + "'";
        });
    }

    /** Stops the expiry timer; the connection closed. */
    void close() {
        if (expiry != null) {
            expiry.cancel(false);
        }
        credential = null;
    }
}
