package dev.wirebus.cli;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code wirebus sub}: prints a stream's messages as {@code SEQ<TAB>PAYLOAD} lines, in order, each
 * flushed as it arrives; after {@code --count} messages it exits 0, otherwise it runs until
 * interrupted.
 *
 * <p>It does not reconnect: a lost connection ends the command with the sequence to resume from, so
 * a script sees the outage and decides (the Java client, by contrast, resumes by itself, and ends
 * the subscription visibly if the broker came back with a different store).
 */
@Command(name = "sub",
        sortOptions = false,
        description = {
            "Print a stream's messages, one 'SEQ<TAB>PAYLOAD' line each (payload as UTF-8), in order, as they arrive.",
            "",
            "Starts from the earliest message the stream retains unless --from says otherwise, then waits for new "
                    + "ones: runs until interrupted, or until --count messages were printed.",
            "",
            "If the connection to the broker is lost (say, the broker stopped), exits 1 naming the sequence to "
                    + "resume from with --from.",
        })
final class SubCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream to read.")
    String stream;

    @Option(names = "--from", paramLabel = "earliest|latest|N", defaultValue = "earliest",
            converter = StartConverter.class,
            description = "Where to start: 'earliest' retained message (default: the whole log, then new ones), "
                    + "'latest' (only messages published from now on), or sequence N.")
    StartPosition from;

    @Option(names = "--count", paramLabel = "K", description = "Exit 0 after printing K messages.")
    Long count;

    @Option(names = "--consumer", paramLabel = "NAME",
            description = "Read as durable consumer NAME: the broker keeps its position, each printed message is "
                    + "acknowledged, and the next run resumes after the last one (--from applies to a new consumer only).")
    String consumer;

    @Option(names = "--max-lag", paramLabel = "N", defaultValue = "0",
            description = "With --consumer: publishers wait while this consumer is N or more messages behind "
                    + "(default: 0, never).")
    int maxLag;

    @Mixin
    ConnectOptions connect;

    @Override
    public Integer call() throws Exception {
        if (count != null && count < 1) {
            throw new ParameterException(spec.commandLine(), "--count must be at least 1, was " + count);
        }
        if (stream.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "STREAM must not be empty");
        }
        PrintWriter out = spec.commandLine().getOut();
        ConnectionReporter reporter = new ConnectionReporter(spec.commandLine().getErr());
        AtomicReference<String> goingAway = new AtomicReference<>();
        ConnectionListener listener = new ConnectionListener() {
            @Override
            public void onError(Throwable error) {
                if (error instanceof ConnectionException) {
                    // GOAWAY: the broker is stopping; said in the final line with the resume point
                    goingAway.compareAndSet(null, error.getMessage());
                } else {
                    reporter.onError(error);
                }
            }
        };
        try (WirebusClient client = connect.connectOnce("wirebus-sub", listener)) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            AtomicLong printed = new AtomicLong();
            AtomicLong lastSequence = new AtomicLong();
            if (consumer == null && maxLag != 0) {
                throw new ParameterException(spec.commandLine(), "--max-lag needs --consumer");
            }
            if (maxLag < 0) {
                throw new ParameterException(spec.commandLine(), "--max-lag must be at least 0, was " + maxLag);
            }
            SubscribeOptions.Builder options = SubscribeOptions.builder().start(from);
            if (consumer != null) {
                options.consumer(consumer).ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(maxLag);
            }
            CompletableFuture<Subscription> self = new CompletableFuture<>();
            AtomicReference<CompletableFuture<Void>> lastAck = new AtomicReference<>(CompletableFuture.completedFuture(null));
            Subscription sub = client.subscribe(stream, options.build(), m -> {
                if (done.isDone()) {
                    return;
                }
                out.print(m.sequence());
                out.print('\t');
                out.println(m.payloadAsString());
                lastSequence.set(m.sequence());
                boolean failed = out.checkError();   // flushes
                if (consumer != null && !failed) {
                    lastAck.set(self.join().ack(m.sequence()));   // printed, so handled
                }
                if (failed) {
                    done.completeExceptionally(new CliFailure("", CliFailure.STDOUT_CLOSED));
                } else if (count != null && printed.incrementAndGet() >= count) {
                    done.complete(null);
                }
            });
            self.complete(sub);
            sub.closed().whenComplete((v, e) -> {
                if (e != null) {
                    done.completeExceptionally(e);
                }
            });
            try {
                done.get();
            } catch (ExecutionException e) {
                Throwable cause = WirebusCommand.unwrap(e);
                if (cause instanceof CliFailure f) {
                    throw f;
                }
                if (!reporter.claim(cause)) {
                    throw new CliFailure("");
                }
                // ended by the broker (e.g. SEQUENCE_NOT_RETAINED) or the connection was lost
                StringBuilder line = new StringBuilder("subscription to '").append(stream).append("' ended: ")
                        .append(cause instanceof WirebusException w ? WirebusCommand.describe(w) : cause.getMessage());
                if (cause instanceof ConnectionException) {
                    if (goingAway.get() != null && !goingAway.get().equals(cause.getMessage())) {
                        line.append(" (").append(goingAway.get()).append(')');
                    }
                    if (lastSequence.get() > 0) {
                        line.append("; resume with --from ").append(lastSequence.get() + 1);
                    }
                }
                throw new CliFailure(line.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 130;
            } finally {
                sub.close();
            }
            if (consumer != null) {
                try {
                    lastAck.get().get(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new CliFailure("the last acknowledgement for consumer '" + consumer
                            + "' was not confirmed: " + WirebusCommand.unwrap(e).getMessage());
                }
            }
            return 0;
        }
    }

    /** {@code earliest}, {@code latest} or a sequence number, with the client's own parser and message. */
    static final class StartConverter implements CommandLine.ITypeConverter<StartPosition> {
        @Override
        public StartPosition convert(String value) {
            try {
                return StartPosition.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
