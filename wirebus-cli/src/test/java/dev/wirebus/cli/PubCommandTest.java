package dev.wirebus.cli;

import org.junit.jupiter.api.Test;

import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class PubCommandTest extends BrokerFixture {

    @Test
    void printsTheSequenceOfEachArgumentMessageInOrder() {
        Cli.Result r = Cli.run("pub", "orders", "a", "b", "c", "--uds", socket);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("1\n2\n3\n");
        assertThat(r.err()).isEmpty();
        assertThat(Cli.run("sub", "orders", "--count", "3", "--uds", socket).out())
                .isEqualTo("1\ta\n2\tb\n3\tc\n");
    }

    @Test
    void publishesEachLineOfStdinWithoutItsLineEnding() {
        Cli.Result r = Cli.runWithStdin("x\ny\r\n\nlast without newline", "pub", "lines", "--uds", socket);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("1\n2\n3\n4\n");
        assertThat(Cli.run("sub", "lines", "--count", "4", "--uds", socket).out())
                .isEqualTo("1\tx\n2\ty\n3\t\n4\tlast without newline\n");
    }

    @Test
    void pipelinesManyStdinLinesThroughASmallWindowAndKeepsInputOrder() {
        int n = 3000;
        String input = IntStream.rangeClosed(1, n).mapToObj(i -> "m" + i + "\n").collect(Collectors.joining());

        Cli.Result r = Cli.runWithStdin(input, "pub", "bulk", "--in-flight", "7", "--uds", socket);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out().lines()).containsExactlyElementsOf(
                IntStream.rangeClosed(1, n).mapToObj(Integer::toString).toList());
        assertThat(Cli.run("sub", "bulk", "--count", Integer.toString(n), "--uds", socket).out().lines())
                .containsExactlyElementsOf(IntStream.rangeClosed(1, n).mapToObj(i -> i + "\tm" + i).toList());
    }

    @Test
    void rerunningAnIdempotentProducersCommandRepeatsNothingAndPrintsTheOriginalSequences() {
        publish("ledger", "before");

        Cli.Result first = Cli.run("pub", "ledger", "--producer", "importer", "a", "b", "--uds", socket);
        Cli.Result again = Cli.run("pub", "ledger", "--producer", "importer", "a", "b", "c", "--uds", socket);

        assertThat(first.out()).isEqualTo("2\n3\n");
        assertThat(again.exitCode()).isZero();
        assertThat(again.out()).isEqualTo("2\n3\n4\n");
        assertThat(again.errLines()).singleElement().asString()
                .contains("2 message(s) had been published before by producer 'importer'");
        assertThat(broker.lastSequence("ledger")).isEqualTo(4);
    }

    @Test
    void expectSeqPublishesAtConsecutiveSequencesFromN() {
        publish("log", "one", "two");

        Cli.Result r = Cli.run("pub", "log", "--expect-seq", "3", "three", "four", "--uds", socket);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("3\n4\n");
    }

    @Test
    void expectSeqMismatchExitsOneWithTheBrokersReasonAndPublishesNothing() {
        publish("log", "one", "two", "three");

        // the stream is at 3: with pipelining, "y" expected at 3 would not fit either, but "z" at 4 would
        Cli.Result r = Cli.run("pub", "log", "--expect-seq", "2", "x", "y", "z", "--uds", socket);

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: message 1 was not published to 'log': ")
                .contains("last sequence 3", "expected sequence 2", "SEQUENCE_MISMATCH");
        assertThat(broker.lastSequence("log")).isEqualTo(3);
    }

    @Test
    void aRefusedStdinLineStopsThePublishAfterPrintingTheSequencesBeforeIt() throws Exception {
        var small = startBroker(dev.wirebus.server.BrokerConfig.builder().maxMessageBytes(8));
        String input = "ok\nfine\nthis line is far too long\nnever read\n";

        Cli.Result r = Cli.runWithStdin(input, "pub", "s", "--in-flight", "1", "--uds", small.unixSocket().toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEqualTo("1\n2\n");
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: message 3 was not published to 's': ")
                .contains("MESSAGE_TOO_LARGE");
        assertThat(small.lastSequence("s")).isEqualTo(2);
    }

    @Test
    void publishesOverTcp() {
        Cli.Result r = Cli.run("pub", "t", "over tcp", "--tcp", tcp());

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("1\n");
        assertThat(broker.lastSequence("t")).isEqualTo(1);
    }

    @Test
    void rerunAfterACutOfAFirstRunLongerThanTheRememberedBatchesPublishesTheRestExactlyOnce() throws Exception {
        int n = 3000;
        int cutAfter = 1000; // far more than the 32 batches the broker remembers per producer
        java.util.List<String> lines = IntStream.rangeClosed(1, n).mapToObj(i -> "m" + i).toList();
        String all = lines.stream().map(l -> l + "\n").collect(Collectors.joining());
        String head = lines.subList(0, cutAfter).stream().map(l -> l + "\n").collect(Collectors.joining());

        // first run: stdin gives 1000 lines, then hangs; the command is stopped there, acks in flight
        java.util.concurrent.CountDownLatch exhausted = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.io.InputStream hanging = new java.io.SequenceInputStream(
                new java.io.ByteArrayInputStream(head.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                new java.io.InputStream() {
                    @Override
                    public int read() throws java.io.IOException {
                        exhausted.countDown();
                        try {
                            release.await(30, java.util.concurrent.TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return -1;
                    }
                });
        try (Cli.Running first = Cli.start(hanging, "pub", "cut", "--producer", "importer", "--uds", socket)) {
            assertThat(exhausted.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            first.interrupt();
            first.awaitExit(Cli.DEADLINE);
        } finally {
            release.countDown();
        }
        // the first run's last publishes may still be landing: the re-run must cope with that too
        Cli.Result again = Cli.runWithStdin(all, "pub", "cut", "--producer", "importer", "--uds", socket);

        assertThat(again.exitCode()).as(again.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("wirebus: (\\d+) message\\(s\\) had been published "
                + "before by producer 'importer', longer ago than the broker remembers").matcher(again.err());
        assertThat(m.find()).as(again.err()).isTrue();
        long skipped = Long.parseLong(m.group(1));
        assertThat(skipped).as("more than the 32 remembered batches were skipped").isGreaterThan(32);
        // one line per message not skipped, in input order: its sequence (the original one for a
        // remembered duplicate); message i is at sequence i on this stream
        java.util.List<Long> printed = again.out().lines().map(Long::parseLong).toList();
        assertThat(printed).hasSize((int) (n - skipped)).isSorted().doesNotHaveDuplicates();
        assertThat(printed.get(printed.size() - 1)).isEqualTo(n);
        assertThat(broker.lastSequence("cut")).isEqualTo(n);
        assertThat(Cli.run("sub", "cut", "--count", Integer.toString(n), "--uds", socket).out().lines())
                .containsExactlyElementsOf(IntStream.rangeClosed(1, n).mapToObj(i -> i + "\tm" + i).toList());

        // and a third run of the same input repeats nothing either
        Cli.Result third = Cli.runWithStdin(all, "pub", "cut", "--producer", "importer", "--uds", socket);
        assertThat(third.exitCode()).as(third.err()).isZero();
        assertThat(third.out().lines()).as("the last 32, remembered: their original sequences")
                .containsExactlyElementsOf(IntStream.rangeClosed(n - 31, n).mapToObj(Integer::toString).toList());
        assertThat(broker.lastSequence("cut")).isEqualTo(n);
    }

    @Test
    void aMessageRefusedInAnEarlierRunIsNeverSkippedByAReRun() throws Exception {
        var small = startBroker(dev.wirebus.server.BrokerConfig.builder().maxMessageBytes(8));
        String input = IntStream.rangeClosed(1, 100).mapToObj(i -> i == 5 ? "far too long for 8\n" : "m" + i + "\n")
                .collect(Collectors.joining());
        String uds = small.unixSocket().toString();

        Cli.Result first = Cli.runWithStdin(input, "pub", "g", "--producer", "p", "--in-flight", "1000", "--uds", uds);
        assertThat(first.exitCode()).isEqualTo(1);
        long afterFirst = small.lastSequence("g");
        // at most 32 in flight with --producer: the refused message stays within what the broker remembers
        assertThat(afterFirst).isLessThanOrEqualTo(4 + 31);

        Cli.Result again = Cli.runWithStdin(input, "pub", "g", "--producer", "p", "--uds", uds);
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.errLines()).anySatisfy(l -> assertThat(l).startsWith("wirebus: message 5 was not published"));
        assertThat(small.lastSequence("g")).isLessThanOrEqualTo(afterFirst + 31);
    }
}
