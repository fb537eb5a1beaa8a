package dev.wirebus.client;

import dev.wirebus.client.internal.ClientOptions;
import dev.wirebus.client.internal.ClientSecurity;
import dev.wirebus.client.internal.DefaultWirebusClient;
import dev.wirebus.protocol.Defaults;
import io.netty.channel.EventLoop;

import javax.net.ssl.SSLContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * A connection to a wirebus broker, shared safely by any number of threads: every call carries a
 * request id and its answer is matched by id, so concurrent callers never see each other's
 * answers. Calls return {@link CompletableFuture}s that complete on the client's I/O thread: chain
 * with the {@code *Async} methods when a stage blocks.
 *
 * <p>Every call has a deadline ({@link Builder#requestTimeout}). At most
 * {@link Builder#maxInFlight} publishes and requests await answers at once; a call beyond that is
 * not sent and its future fails at once with {@link BackpressureException}: no call ever blocks
 * its caller (safe on an event loop), the caller decides whether to retry, shed or slow down.
 * When the connection is lost, calls already sent fail with {@link ConnectionException} (their
 * outcome is unknown) except idempotent publishes, which are sent again; calls not yet sent wait
 * for the reconnect, and subscriptions and responders are restored by themselves. With several
 * addresses ({@link Builder#addresses}) a reconnect is a failover to the next address, with the
 * same guarantees.
 *
 * <pre>{@code
 * try (WirebusClient client = WirebusClient.builder().address("unix:///run/wirebus.sock").name("executor").connect()) {
 *     long seq = client.publish("blocks", block).join().firstSequence();
 *     Subscription sub = client.subscribe("blocks", StartPosition.sequence(1), m -> execute(m));
 *     byte[] epoch = client.request("state.epoch", new byte[0], Duration.ofSeconds(10)).join();
 * }
 * }</pre>
 */
public interface WirebusClient extends AutoCloseable {

    /** A builder with the defaults: the broker's default Unix socket, 10 s deadlines, reconnect forever. */
    static Builder builder() {
        return new Builder();
    }

    /** {@code unix://} + the broker's default socket path (see {@code wirebus serve}). */
    static String defaultAddress() {
        return "unix://" + Defaults.unixSocket();
    }

    /**
     * The protocol version the broker chose in the last handshake: 2 from a broker that speaks it
     * (errors then carry typed fields), 1 from an older one; 0 before the first connection.
     */
    default int protocolVersion() {
        return 0;
    }

    /**
     * Appends a message; completes with where it landed ({@link PublishAck#firstSequence()} is its
     * sequence). Every publish overload completes with a {@link PublishAck}.
     */
    CompletableFuture<PublishAck> publish(String stream, byte[] payload);

    /**
     * Appends a message only if {@code expectedSequence} is the stream's last sequence + 1;
     * otherwise fails with {@link SequenceMismatchException}. Lets a producer that resumes after a
     * reconnect go on in its own index order without duplicates.
     */
    CompletableFuture<PublishAck> publish(String stream, byte[] payload, long expectedSequence);

    /** Appends messages atomically at consecutive sequences, in one frame. */
    CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads);

    /** {@link #publishBatch(String, List)}, only if the first lands at {@code expectedSequence}. */
    CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads, long expectedSequence);

    /**
     * Appends a message as {@code options} say: conditional on an expected sequence, idempotent for
     * a producer (see {@link PublishOptions}), or both. An idempotent publish in flight when the
     * connection is lost is sent again after the reconnect, until its deadline; the broker appends
     * it at most once and acknowledges a repeat with the original sequence.
     */
    CompletableFuture<PublishAck> publish(String stream, byte[] payload, PublishOptions options);

    /** {@link #publishBatch(String, List)} as {@code options} say; an idempotent batch is one producer sequence. */
    CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads, PublishOptions options);

    /**
     * Reads up to {@code maxMessages} messages of a stream from {@code fromSequence} at once,
     * without subscribing (the broker answers at most 10,000 messages or about 4 MiB per call). A
     * page ends early at the stream's end; an empty page means nothing is there yet. Below the
     * retained range it fails with a {@link ServerRefusedException} naming the first retained sequence.
     * With {@code maxMessages} 0 it reads nothing and only tells the stream's last sequence.
     */
    CompletableFuture<FetchResult> fetch(String stream, long fromSequence, int maxMessages);

    /**
     * Opens a subscription. Returns at once; {@link Subscription#started()} completes when the
     * broker confirms. Messages reach {@code handler} in sequence order, each once, across
     * reconnects.
     */
    Subscription subscribe(String stream, StartPosition start, MessageHandler handler);

    /**
     * Opens a subscription as {@code options} say, for example as a durable consumer whose position
     * the broker keeps and which may hold publishers back while it lags.
     */
    Subscription subscribe(String stream, SubscribeOptions options, MessageHandler handler);

    /** The stream's durable consumers, their positions and lag. */
    CompletableFuture<StreamConsumers> consumers(String stream);

    /** Sends a request to one responder of {@code subject}; completes with the reply or fails at the deadline. */
    CompletableFuture<byte[]> request(String subject, byte[] payload, Duration timeout);

    /** Registers {@code handler} as responder on {@code subject}; completes when the broker confirms. */
    CompletableFuture<Responder> respond(String subject, RequestHandler handler);

    /**
     * Admin: lists the streams whose names sort after {@code after} ("" = from the first), at most
     * {@code max} (1..1000) of them; only streams this client's principal may administer are listed.
     *
     * @throws IllegalArgumentException when {@code max} is outside 1..1000
     */
    CompletableFuture<StreamPage> streams(String after, int max);

    /**
     * Admin: deletes a stream, its records and its durable consumers. Fails with a
     * {@link ServerRefusedException} with {@code NOT_FOUND} when there is no such stream, and with
     * {@link PermissionDeniedException} without the admin permission on it.
     */
    CompletableFuture<Void> deleteStream(String stream);

    /**
     * Admin: drops the stream's records below {@code beforeSequence} as far as the storage
     * granularity allows (never a record at or above it).
     */
    CompletableFuture<Void> trimStream(String stream, long beforeSequence);

    /** Admin: deletes a durable consumer of a stream ({@code NOT_FOUND} when absent). */
    CompletableFuture<Void> deleteConsumer(String stream, String consumer);

    /**
     * The principal the broker gave this client's credential in the last AUTH ("" when the client
     * sends none: the broker then treats it by transport, e.g. by the Unix socket peer's uid).
     */
    default String principal() {
        return "";
    }

    /**
     * Presents {@code token} on the open connection (AUTH) and keeps it for every later reconnect,
     * in place of the builder's credential: for example a fresh short-lived token before the current
     * one expires. The broker re-checks the connection's subscriptions and responders against the new
     * principal's permissions. A refused token fails the future with {@link AuthenticationException},
     * and the broker closes the connection.
     */
    default CompletableFuture<Authentication> authenticate(String token) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("authenticate is not supported"));
    }

    /** Round trip to the broker; completes with the time it took. */
    CompletableFuture<Duration> ping();

    /** The connection's state now. */
    ConnectionState state();

    /** The address this client is connected to (or tries next): one of its addresses. */
    String address();

    /**
     * Closes the connection; pending calls fail with {@link ConnectionException}. Idempotent. Does
     * not wait for message handlers: per subscription, the one message being handed to its handler
     * when close is called may still be handled after close returns; no message after it is.
     */
    @Override
    void close();

    /**
     * Settings of a {@link WirebusClient}; each setter validates at once.
     *
     * <pre>{@code
     * WirebusClient c = WirebusClient.builder()
     *     .address("tcp://127.0.0.1:7440")
     *     .name("ingress-1")
     *     .requestTimeout(Duration.ofSeconds(5))
     *     .reconnectPolicy(ReconnectPolicy.exponential(Duration.ofMillis(50), Duration.ofSeconds(5)))
     *     .connect();
     * }</pre>
     */
    final class Builder {
        private String address = defaultAddress();
        private String name = "wirebus-java";
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration requestTimeout = Duration.ofSeconds(10);
        private ReconnectPolicy reconnectPolicy = ReconnectPolicy.defaults();
        private ConnectionListener listener = new ConnectionListener() { };
        private int maxInFlight = 65_536;
        private int subscriptionWindow = 4096;
        private Executor dispatchExecutor;
        private EventLoop eventLoop;
        private ClientSecurity security = ClientSecurity.NONE;

        private Builder() {
        }

        /**
         * {@code unix:///path/to.sock}, {@code tcp://host:port}, {@code tls://host:port} (TLS: see
         * {@link #trustedCertificates}), or a bare socket path; or several of
         * them separated by commas ({@code tcp://node-a:7440,tcp://node-b:7440}), as {@link #addresses}.
         */
        public Builder address(String address) {
            ClientOptions.parseAddresses(address);
            this.address = address;
            return this;
        }

        /**
         * Several brokers serving the same streams (nodes on one shared store): the client connects
         * to the first that answers, trying them in order, and on a lost connection fails over to the
         * next, round robin, resuming subscriptions, responders and idempotent publishes exactly as
         * on a reconnect to the same broker. Each address as in {@link #address}.
         */
        public Builder addresses(String... addresses) {
            if (addresses.length == 0) {
                throw new IllegalArgumentException("addresses needs at least one address");
            }
            for (String a : addresses) {
                if (a == null || a.contains(",")) {
                    throw new IllegalArgumentException("address '" + a + "' is empty or contains a comma");
                }
            }
            return address(String.join(",", addresses));
        }

        /**
         * A bearer credential (a static token or a JWT) sent in AUTH after every handshake, before
         * anything else; a refused one fails {@link #connect()} with {@link AuthenticationException}.
         */
        public Builder token(String token) {
            Objects.requireNonNull(token, "token");
            if (token.isEmpty()) {
                throw new IllegalArgumentException("token is empty");
            }
            return credentials(() -> token);
        }

        /**
         * Where the bearer credential comes from: asked on every (re)connect and again before a
         * credential with an expiry runs out (at 80 % of its life), so a short-lived JWT can be minted
         * fresh each time. Called on the client's I/O thread: return quickly.
         */
        public Builder credentials(Supplier<String> supplier) {
            this.security = security.withCredentials(Objects.requireNonNull(supplier, "credentials"));
            return this;
        }

        /**
         * For {@code tls://} addresses: the CA certificates (a PEM file) the broker's certificate must
         * chain to; without it, the JDK's default trust store. The broker's host name is always checked.
         */
        public Builder trustedCertificates(Path caPem) {
            requireFile("trustedCertificates", caPem);
            this.security = security.withTrustedCertificates(caPem);
            return this;
        }

        /** For {@code tls://} with mutual TLS: this client's certificate chain and PKCS#8 private key (PEM files). */
        public Builder clientCertificate(Path certificatePem, Path privateKeyPem) {
            requireFile("clientCertificate", certificatePem);
            requireFile("clientCertificate key", privateKeyPem);
            this.security = security.withClientCertificate(certificatePem, privateKeyPem);
            return this;
        }

        /** For {@code tls://}: an {@link SSLContext} of the caller's (key and trust managers), instead of PEM files. */
        public Builder sslContext(SSLContext context) {
            this.security = security.withSslContext(Objects.requireNonNull(context, "sslContext"));
            return this;
        }

        private static void requireFile(String what, Path p) {
            Objects.requireNonNull(p, what);
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException(what + " file " + p + " does not exist or is not readable");
            }
        }

        /** The client name the broker sees (logs, {@code disconnect}). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive("connectTimeout", timeout);
            return this;
        }

        /** Deadline of every call that has no timeout of its own (publish, subscribe, respond, ping). */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive("requestTimeout", timeout);
            return this;
        }

        public Builder reconnectPolicy(ReconnectPolicy policy) {
            this.reconnectPolicy = Objects.requireNonNull(policy, "reconnectPolicy");
            return this;
        }

        public Builder listener(ConnectionListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Most publishes and requests awaiting answers at once. A call beyond it fails at once with
         * {@link BackpressureException} (it is not queued and never blocks its caller).
         */
        public Builder maxInFlight(int calls) {
            if (calls < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + calls);
            }
            this.maxInFlight = calls;
            return this;
        }

        /** Credits per subscription: how many messages may be on their way to or queued for its handler. */
        public Builder subscriptionWindow(int messages) {
            if (messages < 2) {
                throw new IllegalArgumentException("subscriptionWindow must be at least 2, was " + messages);
            }
            this.subscriptionWindow = messages;
            return this;
        }

        /** Runs message and request handlers (default: a daemon thread per active subscription or request). */
        public Builder dispatchExecutor(Executor executor) {
            this.dispatchExecutor = Objects.requireNonNull(executor, "dispatchExecutor");
            return this;
        }

        /**
         * The one Netty type in this API, a deliberate extension point for servers built on Netty.
         * Runs the client's connection on {@code loop}, an event loop of the caller's, instead of on
         * a thread of its own; {@link WirebusClient#close()} leaves the loop running. For a server
         * that talks to the broker from its own Netty event loops (the HTTP gateway): answers then
         * arrive on a loop the server already runs, one thread hand-off fewer per call. The loop must
         * come from a {@code MultiThreadIoEventLoopGroup} of the transport the client uses: native
         * epoll where {@code Epoll.isAvailable()}, NIO elsewhere. Handlers run on it when
         * {@link #dispatchExecutor} runs them directly, so they must never block.
         */
        public Builder eventLoop(EventLoop loop) {
            this.eventLoop = Objects.requireNonNull(loop, "eventLoop");
            return this;
        }

        /**
         * Connects and completes the handshake.
         *
         * @throws ConnectionException when the first connection fails, saying why (no socket file,
         *     connection refused, permission denied, handshake timeout)
         */
        public WirebusClient connect() {
            ClientOptions options = new ClientOptions(address, name, connectTimeout, requestTimeout, reconnectPolicy,
                    listener, maxInFlight, subscriptionWindow, dispatchExecutor, eventLoop, security);
            return DefaultWirebusClient.connect(options);
        }

        private static Duration positive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
            return d;
        }
    }
}
