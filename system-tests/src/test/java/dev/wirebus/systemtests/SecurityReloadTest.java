package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.TokenHash;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertDenied;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static dev.wirebus.systemtests.SecurityFixtures.authenticate;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static dev.wirebus.systemtests.SecurityFixtures.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Permission changes take effect on reload, without a restart, for new and open connections:
 * subscriptions and responders no longer allowed are closed with PERMISSION_DENIED, a removed
 * token closes its connections with AUTH_FAILED, and a change of the config file is picked up by
 * the broker's file watch.
 */
class SecurityReloadTest {
    @TempDir
    Path dir;
    private EmbeddedBroker broker;
    private Path file;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static String config(boolean observerReads, boolean observerKnown) {
        return "[security.principals.observer]\n"
                + (observerKnown ? "tokens = [\"" + TokenHash.of("observer-token") + "\"]\n" : "")
                + (observerReads ? "read = [\"blocks\"]\nrespond = [\"state.*\"]\n" : "request = [\"state.*\"]\n")
                + "[security.principals.committer]\n"
                + "tokens = [\"" + TokenHash.of("committer-token") + "\"]\npublish = [\"blocks\"]\n";
    }

    private void start(String text) throws Exception {
        file = dir.resolve("wirebus.toml");
        Files.writeString(file, text);
        SecurityConfig first = SecurityFixtures.read(file);
        broker = EmbeddedBroker.start(b -> b.security(first).securityReloader(() -> SecurityFixtures.read(file)));
    }

    private void rewrite(String text) throws Exception {
        Files.writeString(file, text);
        // make the change visible to the watch whatever the file system's time resolution
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    }

    @Test
    void aReloadClosesSubscriptionsAndRespondersNoLongerAllowed() throws Exception {
        start(config(true, true));
        try (RawConnection observer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2);
             RawConnection committer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.UNIX, 2)) {
            authenticate(observer, "observer-token", "observer");
            authenticate(committer, "committer-token", "committer");
            observer.send(subscribe(1, 7, "blocks"));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            observer.send(new Frame.RespondOn(2, "state.epoch"));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Ok.class);

            Files.writeString(file, config(false, true));
            assertThat(broker.broker().reloadSecurity()).isTrue();

            Frame a = observer.read(WAIT);
            Frame b = observer.read(WAIT);
            Frame closed = a instanceof Frame.SubscriptionClosed ? a : b;
            Frame error = a instanceof Frame.SubscriptionClosed ? b : a;
            assertThat(closed).isInstanceOf(Frame.SubscriptionClosed.class);
            assertThat(((Frame.SubscriptionClosed) closed).subscriptionId()).isEqualTo(7);
            assertThat(((Frame.SubscriptionClosed) closed).code()).isEqualTo(ErrorCode.PERMISSION_DENIED.code());
            assertThat(((Frame.SubscriptionClosed) closed).message()).contains("read on 'blocks' is no longer permitted");
            assertError(error, ErrorCode.PERMISSION_DENIED);
            assertThat(((Frame.Error) error).message()).contains("respond on 'state.epoch'");

            // the published block no longer reaches the observer, and new operations follow the new rules
            committer.send(publish(3, "blocks"));
            assertThat(committer.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            observer.send(subscribe(4, 8, "blocks"));
            assertDenied(observer.read(WAIT), 4, "read", "blocks");
            // a request to state.epoch finds no responder: the observer's registration is gone
            committer.send(new Frame.Ping(5));
            assertThat(committer.read(WAIT)).isInstanceOf(Frame.Pong.class);
        }
    }

    @Test
    void aTokenRemovedByAReloadClosesItsConnections() throws Exception {
        start(config(true, true));
        try (RawConnection observer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            authenticate(observer, "observer-token", "observer");
            Files.writeString(file, config(true, false));
            assertThat(broker.broker().reloadSecurity()).isTrue();
            assertError(observer.read(WAIT), ErrorCode.AUTH_FAILED);
            assertThat(observer.closedByPeer(WAIT)).isTrue();
        }
    }

    @Test
    void aConfigThatDoesNotLoadKeepsTheOneInForce() throws Exception {
        start(config(true, true));
        Files.writeString(file, "[security.principals.observer]\nread = [\"a..b\"]\n");
        assertThat(broker.broker().reloadSecurity()).isFalse();
        try (RawConnection observer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            authenticate(observer, "observer-token", "observer");
            observer.send(subscribe(1, 1, "blocks"));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
        }
    }

    @Test
    void theBrokerWatchesTheConfigFile() throws Exception {
        start(config(true, true));
        try (RawConnection observer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            authenticate(observer, "observer-token", "observer");
            observer.send(subscribe(1, 7, "blocks"));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            rewrite(config(false, true));
            // no reload asked: the watch sees the new file and the subscription ends
            Frame f = observer.read(WAIT);
            assertThat(f).isInstanceOf(Frame.SubscriptionClosed.class);
            assertThat(((Frame.SubscriptionClosed) f).code()).isEqualTo(ErrorCode.PERMISSION_DENIED.code());
        }
    }
}
