package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.ReconnectPolicy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** Helpers for the client's own tests: options, a clock moved by hand, a listener that records. */
final class TestClients {
    static final Duration WAIT = Duration.ofSeconds(10);

    private TestClients() {
    }

    /** A clock that moves only when the test says so. */
    static final class ManualClock implements Clock {
        private final AtomicLong now = new AtomicLong(1_000_000_000L);

        @Override
        public long nanoTime() {
            return now.get();
        }

        void advance(Duration d) {
            now.addAndGet(d.toNanos());
        }
    }

    /** Records states and errors. */
    static final class Recorder implements ConnectionListener {
        final List<ConnectionState> states = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();

        @Override
        public void onStateChange(ConnectionState state) {
            states.add(state);
        }

        @Override
        public void onError(Throwable error) {
            errors.add(error);
        }
    }

    static Options options(String address) {
        return new Options(address);
    }

    /** A mutable stand-in for the builder, reaching the package-private connect with a clock. */
    static final class Options {
        String address;
        Duration requestTimeout = Duration.ofSeconds(10);
        Duration connectTimeout = Duration.ofSeconds(5);
        ReconnectPolicy reconnect = ReconnectPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(5));
        int maxInFlight = 1000;
        int window = 16;
        ConnectionListener listener = new ConnectionListener() { };
        Clock clock = Clock.SYSTEM;
        ClientSecurity security = ClientSecurity.NONE;
        java.util.concurrent.Executor dispatch;

        Options(String address) {
            this.address = address;
        }

        Options requestTimeout(Duration d) {
            requestTimeout = d;
            return this;
        }

        Options reconnect(ReconnectPolicy p) {
            reconnect = p;
            return this;
        }

        Options maxInFlight(int n) {
            maxInFlight = n;
            return this;
        }

        Options window(int n) {
            window = n;
            return this;
        }

        Options listener(ConnectionListener l) {
            listener = l;
            return this;
        }

        Options token(String t) {
            security = security.withCredentials(() -> t);
            return this;
        }

        Options credentials(java.util.function.Supplier<String> s) {
            security = security.withCredentials(s);
            return this;
        }

        Options trusted(java.nio.file.Path caPem) {
            security = security.withTrustedCertificates(caPem);
            return this;
        }

        Options dispatch(java.util.concurrent.Executor e) {
            dispatch = e;
            return this;
        }

        Options clock(Clock c) {
            clock = c;
            return this;
        }

        ClientOptions build() {
            return new ClientOptions(address, "test-client", connectTimeout, requestTimeout, reconnect, listener,
                    maxInFlight, window, dispatch, null, security);
        }

        DefaultWirebusClient connect() {
            return DefaultWirebusClient.connect(build(), clock);
        }
    }
}
