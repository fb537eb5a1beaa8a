package dev.wirebus.cli;

import dev.wirebus.client.StartPosition;
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

/**
 * {@code wirebus sub}: prints a stream's messages as {@code SEQ<TAB>PAYLOAD} lines, in order, each
 * flushed as it arrives; after {@code --count} messages it exits 0, otherwise it runs until
 * interrupted. Survives broker reconnects without gaps or repeats (the client resumes after the
 * last sequence received).
 */
@Command(name = "sub",
        sortOptions = false,
        description = {
            "Print a stream's messages, one 'SEQ<TAB>PAYLOAD' line each (payload as UTF-8), in order, as they arrive.",
            "",
            "Starts from the earliest message the stream retains unless --from says otherwise, then waits for new "
                    + "ones: runs until interrupted, or until --count messages were printed. If the connection to the "
                    + "broker is lost it says so on stderr, reconnects and goes on after the last message printed.",
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
        try (WirebusClient client = connect.connectLasting("wirebus-sub", reporter, null)) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            AtomicLong printed = new AtomicLong();
            Subscription sub = client.subscribe(stream, from, m -> {
                if (done.isDone()) {
                    return;
                }
                out.print(m.sequence());
                out.print('\t');
                out.println(m.payloadAsString());
                if (out.checkError()) {   // flushes
                    done.completeExceptionally(new CliFailure("", CliFailure.STDOUT_CLOSED));
                } else if (count != null && printed.incrementAndGet() >= count) {
                    done.complete(null);
                }
            });
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
                // the subscription was ended by the broker (e.g. SEQUENCE_NOT_RETAINED) or the client gave up
                String reason = cause instanceof WirebusException w ? WirebusCommand.describe(w) : cause.getMessage();
                throw new CliFailure(reporter.claim(cause) ? "subscription to '" + stream + "' ended: " + reason : "");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 130;
            } finally {
                sub.close();
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
