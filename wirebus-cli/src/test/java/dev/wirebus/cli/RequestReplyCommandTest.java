package dev.wirebus.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class RequestReplyCommandTest extends BrokerFixture {

    @Test
    void reqPrintsTheReplyOfRespond() throws Exception {
        try (Cli.Running respond = Cli.start("respond", "echo", "--reply", "pong", "--count", "1", "--uds", socket)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> respond.out().equals("responding on echo\n"));

            Cli.Result req = Cli.run("req", "echo", "ping", "--uds", socket);

            assertThat(req.exitCode()).isZero();
            assertThat(req.out()).isEqualTo("pong\n");
            assertThat(req.err()).isEmpty();
            Cli.Result r = respond.awaitExit(Cli.DEADLINE);
            assertThat(r.exitCode()).isZero();
            assertThat(r.err()).isEmpty();
        }
    }

    @Test
    void respondAnswersEveryRequestUntilItsCountOverTcp() throws Exception {
        try (Cli.Running respond = Cli.start("respond", "svc", "--reply", "ok", "--count", "3", "--tcp", tcp())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> respond.out().contains("responding on svc"));

            for (int i = 0; i < 3; i++) {
                assertThat(Cli.run("req", "svc", "--tcp", tcp()).out()).isEqualTo("ok\n");
            }

            assertThat(respond.awaitExit(Cli.DEADLINE).exitCode()).isZero();
        }
    }

    @Test
    void reqWithoutAResponderExitsOneNamingNoResponders() {
        Cli.Result r = Cli.run("req", "nobody.home", "hello", "--uds", socket);

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: ")
                .contains("nobody.home", "NO_RESPONDERS");
    }

    @Test
    void reqGivesUpAtItsTimeoutWhenTheResponderIsSilent() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        client().respond("slow", req -> {
            release.await();
            return new byte[0];
        }).join();
        try {
            Cli.Result r = Cli.run("req", "slow", "x", "--timeout", "300ms", "--uds", socket);

            // it ended while the responder still held the request: it gave up, nobody answered
            assertThat(release.getCount()).isEqualTo(1);
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.errLines()).singleElement().asString().startsWith("wirebus: ").contains("TIMEOUT");
        } finally {
            release.countDown();
        }
    }
}
