package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.server.Broker;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertDenied;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static dev.wirebus.systemtests.SecurityFixtures.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Principals of Unix socket peers from SO_PEERCRED: this test (root) and a peer run as the user
 * {@code nobody} through runuser get the permissions of the principals their uids are mapped to;
 * an unmapped uid is anonymous. Skipped, saying why, where the test cannot run as another uid.
 */
class UnixPeerCredentialsTest {
    @TempDir
    Path configDir;
    private EmbeddedBroker embedded;
    private Broker broker;

    @BeforeEach
    void assumeASecondUid() {
        SecurityFixtures.assumeRootWithRunuser();
    }

    private void start(String config) throws Exception {
        SecurityConfig security = SecurityFixtures.parse(configDir, config);
        embedded = EmbeddedBroker.start(b -> b.socketPermissions("rw-rw-rw-").security(security));
        broker = embedded.broker();
        // a directory and socket the user nobody can reach: the file mode is not what is tested here
        Files.setPosixFilePermissions(broker.unixSocket().getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void stop() {
        if (embedded != null) {
            embedded.close();
        }
    }

    @Test
    void eachUidGetsThePermissionsOfItsPrincipal() throws Exception {
        start("""
                [security.principals.committer]
                unix-users = ["root"]
                publish = ["blocks"]
                [security.principals.observer]
                unix-users = ["nobody"]
                read = ["blocks"]
                """);
        List<Frame> nobody = SecurityFixtures.asNobody(broker.unixSocket(),
                publish(2, "blocks"), subscribe(3, 1, "blocks"));
        assertThat(nobody.get(0)).isInstanceOf(Frame.Welcome.class);
        assertDenied(nobody.get(1), 2, "publish", "blocks");
        assertThat(((Frame.Error) nobody.get(1)).message()).contains("'observer'");
        assertThat(nobody.get(2)).isInstanceOf(Frame.Subscribed.class);

        try (RawConnection root = RawConnection.handshaken(embedded, EmbeddedBroker.Transport.UNIX, 2)) {
            root.send(publish(2, "blocks"));
            assertThat(root.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            root.send(subscribe(3, 1, "blocks"));
            assertDenied(root.read(WAIT), 3, "read", "blocks");
        }
    }

    @Test
    void anUnmappedUidIsAnonymous() throws Exception {
        start("""
                [security.principals.committer]
                unix-users = ["root"]
                publish = ["blocks"]
                """);
        List<Frame> nobody = SecurityFixtures.asNobody(broker.unixSocket(), publish(2, "blocks"));
        assertDenied(nobody.get(1), 2, "publish", "blocks");
        assertThat(((Frame.Error) nobody.get(1)).message()).contains("'anonymous'");
    }

    @Test
    void aGroupMappingAndAGroupSocket() throws Exception {
        start("""
                [security]
                socket-group = "nogroup"
                [security.principals.observers]
                unix-groups = ["nogroup"]
                read = ["blocks"]
                """);
        assertThat(Files.getAttribute(broker.unixSocket(), "posix:group").toString()).isEqualTo("nogroup");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(broker.unixSocket())))
                .startsWith("rw-rw-");
        List<Frame> nobody = SecurityFixtures.asNobody(broker.unixSocket(), subscribe(2, 1, "blocks"),
                publish(3, "blocks"));
        assertThat(nobody.get(1)).isInstanceOf(Frame.Subscribed.class);
        assertDenied(nobody.get(2), 3, "publish", "blocks");
        assertThat(((Frame.Error) nobody.get(2)).code()).isEqualTo(ErrorCode.PERMISSION_DENIED.code());
    }
}
