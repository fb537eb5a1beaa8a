package dev.wirebus.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * End-to-end benchmarks of wirebus over Unix domain sockets and TCP, with percentiles from
 * HdrHistogram. Each subcommand measures one thing on each selected transport against a fresh
 * broker: a warm-up, {@code --runs} runs of {@code --duration}, each printed, then their median.
 *
 * <pre>{@code
 * bench/run.sh                                   # the floor, then 'all' with the defaults
 * java -jar bench/target/wirebus-bench.jar publish-latency --transport uds --duration 5s
 * java -jar bench/target/wirebus-bench.jar all --broker-process --runs 5
 * java -jar bench/target/wirebus-bench.jar end-to-end --broker unix:///run/wirebus.sock --rate 200000
 * java -jar bench/target/wirebus-bench.jar publish-throughput --store disk --durability always
 * java -jar bench/target/wirebus-bench.jar durable --runs 5   # always / batch / never on disk, memory beside
 * java -jar bench/target/wirebus-bench.jar gateway-fanout --protocol sse --rate 1000   # 1000 SSE subscribers
 * }</pre>
 *
 * Every wait has a deadline ({@code --timeout}) and a watchdog ends the program past its budget.
 */
@Command(name = "wirebus-bench", mixinStandardHelpOptions = true, version = "wirebus-bench 0.1",
        description = "End-to-end benchmarks of wirebus (UDS and TCP, HdrHistogram percentiles).",
        subcommands = {Bench.PublishLatencyCmd.class, Bench.PublishThroughputCmd.class, Bench.EndToEndCmd.class,
                Bench.RequestReplyCmd.class, Bench.FanoutCmd.class, Bench.DurableCmd.class, Bench.GatewayFanoutCmd.class,
                Bench.AllCmd.class})
public final class Bench implements Runnable {

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Bench());
        // a bad option value is the user's mistake, not a crash: its message and exit code 2, no stack trace
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("wirebus-bench " + cmd.getCommandName() + ": " + e.getMessage());
                cmd.getErr().println("(" + cmd.getCommandName() + " --help lists every option)");
                return 2;
            }
            throw e;
        });
        int code = cli.execute(args);
        System.exit(code);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /**
     * One benchmark (or variant) to run on each of {@code transports} against brokers keeping their
     * streams in {@code store}; null for either means what the options say.
     */
    record Job(String key, String title, Workload.Factory factory, BrokerStore store, List<Transport> transports) {
        Job(String key, String title, Workload.Factory factory) {
            this(key, title, factory, null, null);
        }
    }

    /** What every subcommand does: validate, arm the watchdog, run its jobs, report. */
    abstract static class BenchCommand implements Callable<Integer> {
        @Mixin
        BenchOptions o;

        @Spec
        CommandSpec spec;

        abstract List<Job> jobs();

        /** Prints the header; commands that choose transports or stores per job say which. */
        void header(Runner runner, String name) {
            runner.printHeader(name);
        }

        /** Closing tables, if the command has any. */
        void summary(Runner runner) {
        }

        /** The durable benchmark's transports: UDS alone unless --transport was given (the disk is the subject). */
        List<Transport> durableTransports() {
            return udsUnlessGiven();
        }

        /** UDS alone unless --transport was given: for benchmarks whose subject is not the broker's socket. */
        List<Transport> udsUnlessGiven() {
            return spec.commandLine().getParseResult().hasMatchedOption("--transport") ? o.transports()
                    : List.of(Transport.UDS);
        }

        void validate() {
        }

        @Override
        public Integer call() {
            o.validate();
            validate();
            List<Job> jobs = jobs();
            // per job and transport: warm-up and runs, a count of fsyncs after each (up to --timeout), set-up
            Duration perJob = o.perTransportBudget().plus(o.timeout.multipliedBy(o.runs + 4L)).plusSeconds(60);
            long brokers = 0;
            for (Job j : jobs) {
                brokers += j.transports() == null ? o.transports().size() : j.transports().size();
            }
            Watchdog.arm(perJob.multipliedBy(brokers).plusSeconds(60));
            String name = getClass().getAnnotation(Command.class).name();
            Runner runner = new Runner(o, System.out);
            header(runner, name);
            for (Job j : jobs) {
                runner.run(j.key(), j.title(), j.factory(), j.store() == null ? o.store() : j.store(),
                        j.transports() == null ? o.transports() : j.transports());
            }
            summary(runner);
            return runner.exitCode();
        }

        Job latency() {
            return new Job(PublishLatency.NAME, "publish-latency: one caller, publish -> ack, one at a time",
                    a -> new PublishLatency(o, a));
        }

        Job requestReply() {
            return new Job(RequestReply.NAME, "request-reply: one caller, one echo responder, sequential",
                    a -> new RequestReply(o, a));
        }

        List<Job> throughput(LoadOptions l) {
            List<Job> jobs = new ArrayList<>();
            for (String v : l.variants) {
                String what = switch (v) {
                    case "publisher" -> "BatchingPublisher, " + l.producers + " producer(s), " + l.workers
                            + " worker(s), batches <= " + l.batch + ", " + l.inFlight + " in flight";
                    case "batch" -> "WirebusClient.publishBatch of " + l.batch + ", window of " + l.inFlight;
                    case "idempotent" -> "publishBatch as idempotent producer, batches of " + l.batch + ", window of "
                            + l.inFlight;
                    default -> throw new IllegalArgumentException("unknown variant " + v);
                };
                jobs.add(new Job(PublishThroughput.NAME + "/" + v, "publish-throughput/" + v + ": " + what,
                        a -> PublishThroughput.open(v, o, l, a)));
            }
            return jobs;
        }

        Job endToEnd(LoadOptions l) {
            return new Job(EndToEnd.NAME, "end-to-end: BatchingPublisher -> broker -> 1 subscriber, "
                    + (l.rate > 0 ? "paced at " + Sample.rate(l.rate) + " msg/s" : "unpaced (latency = mostly queueing)")
                    + ", max lag " + l.maxLag, a -> new EndToEnd(o, l, a));
        }

        Job fanout(LoadOptions l) {
            int clients = l.subscriberClients == 0 ? l.subscribers : Math.min(l.subscribers, l.subscriberClients);
            return new Job(Fanout.NAME, "fanout: 1 publisher -> " + l.subscribers + " subscribers on " + clients
                    + " connection(s)", a -> new Fanout(o, l, a));
        }
    }

    /** A benchmark that takes the load options (producers, workers, batches, subscribers). */
    abstract static class LoadCommand extends BenchCommand {
        @Mixin
        LoadOptions l;

        @Override
        void validate() {
            l.validate();
        }
    }

    @Command(name = "publish-latency", mixinStandardHelpOptions = true,
            description = "One caller, publish -> ack round trip, one at a time; p50/p99/p99.9/max in us.")
    static final class PublishLatencyCmd extends BenchCommand {
        @Override
        List<Job> jobs() {
            return List.of(latency());
        }
    }

    @Command(name = "publish-throughput", mixinStandardHelpOptions = true,
            description = "Pipelined acknowledged publishes: BatchingPublisher and publishBatch windows; msg/s acked.")
    static final class PublishThroughputCmd extends LoadCommand {
        @Override
        List<Job> jobs() {
            return throughput(l);
        }
    }

    @Command(name = "end-to-end", mixinStandardHelpOptions = true,
            description = "BatchingPublisher -> one subscriber: delivered msg/s and publish -> delivery latency.")
    static final class EndToEndCmd extends LoadCommand {
        @Override
        List<Job> jobs() {
            return List.of(endToEnd(l));
        }
    }

    @Command(name = "request-reply", mixinStandardHelpOptions = true,
            description = "One caller, one responder, sequential round trips; p50/p99/p99.9/max in us.")
    static final class RequestReplyCmd extends BenchCommand {
        @Override
        List<Job> jobs() {
            return List.of(requestReply());
        }
    }

    @Command(name = "fanout", mixinStandardHelpOptions = true,
            description = "One publisher, N subscribers (default 100): delivered msg/s over all subscribers.")
    static final class FanoutCmd extends LoadCommand {
        @Override
        List<Job> jobs() {
            return List.of(fanout(l));
        }
    }

    @Command(name = "durable", mixinStandardHelpOptions = true,
            description = {"Acknowledged publishing on a disk store under each durability policy (always, batch,"
                    + " never), with a memory store as the reference: BatchingPublisher msg/s, many single-message"
                    + " callers (group commit) msg/s, one caller's publish -> ack latency; fsync/s when counted.",
                    "Sets --store/--durability itself per policy; --sync-interval, --data and the other broker"
                            + " options apply. UDS alone unless --transport is given."})
    static final class DurableCmd extends BenchCommand {
        @Mixin
        Durable.Options d;

        @Override
        void validate() {
            d.validate();
        }

        @Override
        List<Job> jobs() {
            return Durable.jobs(o, d, durableTransports());
        }

        @Override
        void header(Runner runner, String name) {
            runner.printHeader(name, durableTransports(), "per policy: " + Durable.describe(o, d) + runner.dataNote());
        }

        @Override
        void summary(Runner runner) {
            Durable.print(System.out, runner, Floor.read(o.floorFile), d, durableTransports());
        }
    }

    @Command(name = "gateway-fanout", mixinStandardHelpOptions = true,
            description = {"Fan-out through the HTTP gateway: one stream, N Server-Sent Events or WebSocket subscribers"
                    + " (default 1000, one HTTP connection each, one client event-loop thread), messages published at"
                    + " each --rate through a BatchingPublisher: delivered msg/s over all subscribers and publish ->"
                    + " delivery latency, with the cores each thread role used; then a table against the targets"
                    + " (>= 1M delivered msg/s, p99 <= 10 ms).",
                    "Broker, gateway and subscribers in this JVM; the gateway reaches the broker over UDS unless"
                            + " --transport is given, as `wirebus serve` does."})
    static final class GatewayFanoutCmd extends BenchCommand {
        @Mixin
        GatewayFanout.Options g;

        @Override
        void validate() {
            g.validate();
        }

        @Override
        List<Job> jobs() {
            return GatewayFanout.jobs(o, g, udsUnlessGiven());
        }

        @Override
        void header(Runner runner, String name) {
            runner.printHeader(name, udsUnlessGiven(), o.store().label());
        }

        @Override
        void summary(Runner runner) {
            GatewayFanout.print(System.out, runner, g, udsUnlessGiven());
        }
    }

    @Command(name = "all", mixinStandardHelpOptions = true,
            description = "publish-latency, publish-throughput, end-to-end and request-reply on each transport,"
                    + " then a summary table (medians, targets, ratios to the floor).")
    static final class AllCmd extends BenchCommand {
        @Mixin
        LoadOptions l;

        @Mixin
        Durable.Options d;

        @Option(names = "--with-fanout", description = "Also run fanout.")
        boolean withFanout;

        @Option(names = "--with-durable",
                description = "Also run durable (disk store under each durability policy; UDS alone unless --transport is given).")
        boolean withDurable;

        @Override
        void validate() {
            l.validate();
            if (withDurable) {
                d.validate();
            }
        }

        @Override
        void summary(Runner runner) {
            Floor floor = Floor.read(o.floorFile);
            Summary.print(System.out, runner, floor);
            if (withDurable) {
                Durable.print(System.out, runner, floor, d, durableTransports());
            }
        }

        @Override
        List<Job> jobs() {
            List<Job> jobs = new ArrayList<>();
            jobs.add(latency());
            jobs.addAll(throughput(l));
            jobs.add(endToEnd(l));
            jobs.add(requestReply());
            if (withFanout) {
                jobs.add(fanout(l));
            }
            if (withDurable) {
                jobs.addAll(Durable.jobs(o, d, durableTransports()));
            }
            return jobs;
        }
    }
}
