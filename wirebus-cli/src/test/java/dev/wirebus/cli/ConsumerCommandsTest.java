package dev.wirebus.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConsumerCommandsTest extends BrokerFixture {

    @Test
    void subAsADurableConsumerResumesAfterTheLastLinePrinted() {
        publish("jobs", "a", "b", "c", "d", "e");

        Cli.Result first = Cli.run("sub", "jobs", "--consumer", "worker", "--count", "2", "--uds", socket);
        Cli.Result second = Cli.run("sub", "jobs", "--consumer", "worker", "--count", "2", "--uds", socket);

        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out()).isEqualTo("1\ta\n2\tb\n");
        assertThat(second.out()).isEqualTo("3\tc\n4\td\n");
        // --from only places a new consumer
        assertThat(Cli.run("sub", "jobs", "--consumer", "worker", "--from", "1", "--count", "1", "--uds", socket).out())
                .isEqualTo("5\te\n");
    }

    @Test
    void consumersListsPositionsAndLag() {
        publish("jobs", "a", "b", "c");
        assertThat(Cli.run("sub", "jobs", "--consumer", "worker", "--count", "1", "--uds", socket).exitCode()).isZero();

        Cli.Result r = Cli.run("consumers", "jobs", "--uds", socket);

        assertThat(r.exitCode()).as(r.err()).isZero();
        // CONNECTED may still say yes while the broker notices the sub command has gone
        assertThat(r.out()).matches("# stream jobs last sequence 3, publishes held now 0, held in all 0 ms, refused 0\n"
                + "CONSUMER\tACKED\tLAG\tMAX_LAG\tCONNECTED\n"
                + "worker\t1\t2\t0\t(yes|no)\n");
    }

    @Test
    void maxLagWithoutAConsumerIsAUsageError() {
        Cli.Result r = Cli.run("sub", "jobs", "--max-lag", "5", "--uds", socket);

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains("--max-lag needs --consumer");
    }
}
