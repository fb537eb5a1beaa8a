package dev.wirebus.cli;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class SubCommandTest extends BrokerFixture {

    @Test
    void fromTwoWithCountTwoPrintsExactlyTheSecondAndThirdMessages() {
        publish("s", "a", "b", "c", "d");

        Cli.Result r = Cli.run("sub", "s", "--from", "2", "--count", "2", "--uds", socket);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("2\tb\n3\tc\n");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void startsFromTheEarliestRetainedMessageByDefault() {
        publish("s", "first", "second");

        assertThat(Cli.run("sub", "s", "--count", "2", "--uds", socket).out()).isEqualTo("1\tfirst\n2\tsecond\n");
    }

    @Test
    void printsMessagesPublishedAfterItStartedAsTheyArrive() throws Exception {
        try (Cli.Running sub = Cli.start("sub", "later", "--count", "2", "--tcp", tcp())) {
            publish("later", "grüße ✓");
            await().atMost(Duration.ofSeconds(10)).until(() -> sub.out().equals("1\tgrüße ✓\n"));
            assertThat(sub.isDone()).isFalse();

            publish("later", "second");
            Cli.Result r = sub.awaitExit(Cli.DEADLINE);

            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).isEqualTo("1\tgrüße ✓\n2\tsecond\n");
        }
    }

    @Test
    void fromLatestSkipsMessagesPublishedBeforeIt() throws Exception {
        publish("s", "old");
        try (Cli.Running sub = Cli.start("sub", "s", "--from", "latest", "--count", "1", "--uds", socket)) {
            // the subscription's start is fixed at some point after the command began: publish until it sees one
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
                publish("s", "new");
                return sub.isDone();
            });
            Cli.Result r = sub.awaitExit(Cli.DEADLINE);

            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).matches("\\d+\tnew\n");
            assertThat(Long.parseLong(r.out().substring(0, r.out().indexOf('\t')))).isGreaterThan(1);
        }
    }

    @Test
    void aSubscriptionTheBrokerRefusesExitsOneWithOneLine() throws Exception {
        Broker small = startBroker(BrokerConfig.builder().retentionMessages(2));
        try (var c = dev.wirebus.client.WirebusClient.builder().address("unix://" + small.unixSocket()).connect()) {
            for (int i = 0; i < 5; i++) {
                c.publish("s", new byte[] {(byte) i}).join();
            }
        }

        Cli.Result r = Cli.run("sub", "s", "--from", "1", "--uds", small.unixSocket().toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: ")
                .contains("SEQUENCE_NOT_RETAINED");
    }

    @Test
    void whenTheBrokerStopsSubExitsOneNamingTheSequenceToResumeFrom() throws Exception {
        Broker stopping = startBroker(BrokerConfig.builder());
        String sock = stopping.unixSocket().toString();
        try (Cli.Running sub = Cli.start("sub", "s", "--uds", sock)) {
            try (var c = dev.wirebus.client.WirebusClient.builder().address("unix://" + sock).connect()) {
                c.publish("s", "a".getBytes()).join();
                c.publish("s", "b".getBytes()).join();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> sub.out().equals("1\ta\n2\tb\n"));

            stopping.close();
            Cli.Result r = sub.awaitExit(Cli.DEADLINE);

            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.errLines()).singleElement().asString()
                    .startsWith("wirebus: subscription to 's' ended: connection to unix://" + sock + " lost")
                    .contains("shutting down")
                    .endsWith("; resume with --from 3");
        }
    }
}
