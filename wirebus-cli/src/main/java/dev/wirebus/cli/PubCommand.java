package dev.wirebus.cli;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * {@code wirebus pub}: publishes messages given as arguments, or each line of stdin, and prints the
 * sequence each got, one per line, in input order.
 *
 * <p>Publishes are pipelined: a reader thread sends while this thread prints acknowledgements in
 * order, with at most {@code --in-flight} messages awaiting their acknowledgement. The first
 * refused publish stops the command: its reason is the last line on stderr and the exit code is 1.
 */
@Command(name = "pub",
        sortOptions = false,
        description = {
            "Publish messages to a stream and print the sequence each got, one per line, in input order.",
            "",
            "With no MESSAGE, publishes each line of stdin as it is read (without its line ending), pipelined. "
                    + "The first refused publish stops the command with a one-line reason on stderr and exit code 1.",
        })
final class PubCommand implements Callable<Integer> {
    /** Longest stdin line taken as one message; the client's largest frame. */
    static final int MAX_LINE_BYTES = 64 * 1024 * 1024;
    /** The client's own limit of calls awaiting answers. */
    static final int MAX_IN_FLIGHT = 65_536;

    private final InputStream stdin;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream to publish to.")
    String stream;

    @Parameters(index = "1..*", paramLabel = "MESSAGE",
            description = "Messages (UTF-8). Without any, stdin is read line by line.")
    List<String> messages = new ArrayList<>();

    @Option(names = "--expect-seq", paramLabel = "N",
            description = "Publish the first message only at sequence N, the next only at N+1, and so on; a message "
                    + "whose sequence is not free is refused (SEQUENCE_MISMATCH). The first message is confirmed "
                    + "before the rest are sent.")
    Long expectSeq;

    @Option(names = "--producer", paramLabel = "ID",
            description = "Publish as idempotent producer ID: message i gets producer sequence --producer-seq + i - 1, "
                    + "and one the broker already appended for ID is not appended again but answered with its original "
                    + "sequence (so re-running a command that was cut off repeats nothing). When the broker no longer "
                    + "remembers the first message's batch (more than 32 were appended since), the messages up to the "
                    + "producer's last appended producer sequence are skipped without a line and the rest published.")
    String producer;

    @Option(names = "--producer-seq", paramLabel = "N", defaultValue = "1",
            description = "Producer sequence of the first message with --producer (default: ${DEFAULT-VALUE}).")
    long producerSeq;

    @Option(names = "--in-flight", paramLabel = "N", defaultValue = "256",
            description = "Most messages sent but not yet acknowledged (default: ${DEFAULT-VALUE}).")
    int inFlight;

    @Mixin
    ConnectOptions connect;

    PubCommand(InputStream stdin) {
        this.stdin = stdin;
    }

    @Override
    public Integer call() throws Exception {
        if (expectSeq != null && expectSeq < 1) {
            throw new ParameterException(spec.commandLine(), "--expect-seq must be at least 1, was " + expectSeq);
        }
        if (producer != null && producerSeq < 1) {
            throw new ParameterException(spec.commandLine(), "--producer-seq must be at least 1, was " + producerSeq);
        }
        if (inFlight < 1 || inFlight > MAX_IN_FLIGHT) {
            throw new ParameterException(spec.commandLine(), "--in-flight must be 1 to " + MAX_IN_FLIGHT + ", was "
                    + inFlight);
        }
        if (stream.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "STREAM must not be empty");
        }
        PrintWriter out = spec.commandLine().getOut();
        boolean fromStdin = messages.isEmpty();
        if (fromStdin && stdin == System.in && System.console() != null) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("wirebus: publishing each line you type to '" + stream + "'; end with Ctrl-D");
            err.flush();
        }
        try (WirebusClient client = connect.connectOnce("wirebus-pub")) {
            Iterator<byte[]> input = fromStdin ? new LineReader(stdin)
                    : messages.stream().map(m -> m.getBytes(StandardCharsets.UTF_8)).iterator();
            Pipeline pipeline = new Pipeline(client, input, out);
            Thread reader = new Thread(pipeline::send, "wirebus-pub-reader");
            // a reader blocked on an interactive stdin must not keep the process alive after a failure
            reader.setDaemon(true);
            reader.start();
            pipeline.printAcknowledgements();
            if (pipeline.skipped > 0) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("wirebus: the first " + pipeline.skipped + " message(s) had been published before by producer '"
                        + producer + "' (up to producer sequence " + pipeline.lastAppended + ") and were skipped; "
                        + "the sequences printed are those of the messages after them");
                err.flush();
            }
            if (pipeline.duplicates.get() > 0) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("wirebus: " + pipeline.duplicates.get() + " message(s) had been published before by producer '"
                        + producer + "' and were not appended again; their original sequences are printed");
                err.flush();
            }
            return 0;
        }
    }

    /** One message sent: its 1-based position in the input and its acknowledgement. */
    private record Sent(long index, CompletableFuture<Long> ack, RuntimeException notSent) {
    }

    private static final Sent END = new Sent(0, null, null);

    /** The reader sends, the caller's thread prints; a lock keeps the reader from sending after a failure. */
    private final class Pipeline {
        private final WirebusClient client;
        private final Iterator<byte[]> input;
        private final PrintWriter out;
        private final Semaphore slots = new Semaphore(inFlight);
        private final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
        private final Object lock = new Object();
        private boolean stopped;
        final java.util.concurrent.atomic.AtomicLong duplicates = new java.util.concurrent.atomic.AtomicLong();
        /** Messages skipped because an earlier run appended them (written by the reader before END). */
        volatile long skipped;
        volatile long lastAppended;

        Pipeline(WirebusClient client, Iterator<byte[]> input, PrintWriter out) {
            this.client = client;
            this.input = input;
            this.out = out;
        }

        /** Reader thread: reads and sends until the input ends or the printer stops it. */
        void send() {
            long index = 0;
            try {
                while (input.hasNext()) {
                    byte[] payload = input.next();
                    slots.acquire();
                    CompletableFuture<Long> ack;
                    synchronized (lock) {
                        if (stopped) {
                            return;
                        }
                        index++;
                        ack = producer != null ? publishIdempotent(payload, index)
                                : expectSeq == null ? client.publish(stream, payload)
                                : client.publish(stream, payload, expectSeq + index - 1);
                        if (index == 1 && producer != null) {
                            long last = appendedBefore(ack.handle((seq, e) -> e).join());
                            if (last >= producerSeq) {
                                // an earlier run appended messages 1..k and the broker forgot the oldest of
                                // them: skip them (the input is the same, one message per producer sequence)
                                while (producerSeq + index - 1 < last && input.hasNext()) {
                                    input.next();
                                    index++;
                                }
                                lastAppended = last;
                                skipped = index;
                                slots.release();
                                continue;
                            }
                        }
                        sent.add(new Sent(index, ack, null));
                    }
                    if (index == 1 && expectSeq != null && ack.handle((seq, e) -> e).join() != null) {
                        // refused: the rest must not land at the sequences after the one it expected
                        return;
                    }
                }
                sent.add(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sent.add(new Sent(index + 1, null, new CliFailure("interrupted")));
            } catch (RuntimeException e) {
                sent.add(new Sent(index + 1, null, e));
            } catch (Throwable t) {
                sent.add(new Sent(index + 1, null, new IllegalStateException("reading messages failed: " + t, t)));
                throw t;
            }
        }

        /**
         * The producer's last appended producer sequence when {@code failure} is the PRODUCER_SEQUENCE
         * of a batch the broker no longer remembers (a version 2 field, or a version 1 broker's
         * message), else -1.
         */
        private long appendedBefore(Throwable failure) {
            Throwable cause = failure == null ? null : WirebusCommand.unwrap(failure);
            if (cause instanceof dev.wirebus.client.ServerRefusedException r
                    && r.errorCode() == dev.wirebus.protocol.ErrorCode.PRODUCER_SEQUENCE) {
                return r.lastProducerSequence().orElse(-1);
            }
            return -1;
        }

        private CompletableFuture<Long> publishIdempotent(byte[] payload, long index) {
            dev.wirebus.client.PublishOptions.Builder options = dev.wirebus.client.PublishOptions.builder()
                    .producer(producer, producerSeq + index - 1);
            if (expectSeq != null) {
                options.expectedSequence(expectSeq + index - 1);
            }
            return client.publish(stream, payload, options.build()).thenApply(a -> {
                if (a.duplicate()) {
                    duplicates.incrementAndGet();
                }
                return a.firstSequence();
            });
        }

        /** Caller's thread: prints each sequence in input order, until the end or the first failure. */
        void printAcknowledgements() throws InterruptedException {
            while (true) {
                Sent s = sent.take();
                if (s == END) {
                    out.flush();
                    return;
                }
                if (s.notSent() != null) {
                    throw failure(s, s.notSent());
                }
                long seq;
                try {
                    seq = s.ack().join();
                } catch (CompletionException | CancellationException e) {
                    throw failure(s, WirebusCommand.unwrap(e));
                }
                slots.release();
                out.println(seq);
                Sent next = sent.peek();
                if (next == null || next.ack() == null || !next.ack().isDone()) {
                    if (out.checkError()) {
                        stop();
                        throw new CliFailure("", CliFailure.STDOUT_CLOSED);
                    }
                }
            }
        }

        private void stop() {
            synchronized (lock) {
                stopped = true;
            }
            // let a reader waiting for a slot see that it must stop
            slots.release(inFlight);
        }

        /**
         * The failure of message {@code s}: stops the reader, then waits for the messages already
         * sent after it (they are on the wire: some may have been published) and says so.
         */
        private RuntimeException failure(Sent s, Throwable cause) {
            stop();
            out.flush();
            List<String> laterPublished = new ArrayList<>();
            for (Sent later; (later = sent.poll()) != null; ) {
                if (later.ack() != null) {
                    try {
                        laterPublished.add("message " + later.index() + " at " + later.ack().join());
                    } catch (CompletionException | CancellationException ignored) {
                        // refused too: nothing more to tell
                    }
                }
            }
            String reason = cause instanceof WirebusException w ? WirebusCommand.describe(w) : cause.getMessage();
            StringBuilder line = new StringBuilder();
            if (s.notSent() != null && cause instanceof IllegalArgumentException) {
                line.append("message ").append(s.index()).append(" was not sent: ").append(reason);
            } else if (s.notSent() != null) {
                line.append(reason);
            } else {
                line.append("message ").append(s.index()).append(" was not published to '").append(stream)
                        .append("': ").append(reason);
            }
            if (!laterPublished.isEmpty()) {
                int n = laterPublished.size();
                line.append("; already sent after it, ").append(n).append(n == 1 ? " was" : " were")
                        .append(" published anyway: ")
                        .append(String.join(", ", laterPublished.subList(0, Math.min(n, 3))))
                        .append(n > 3 ? ", ..." : "");
            }
            return new CliFailure(line.toString());
        }
    }

    /** stdin split into lines of bytes (a trailing {@code \r} removed), kept exactly as read otherwise. */
    private static final class LineReader implements Iterator<byte[]> {
        private final InputStream in;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private byte[] next;
        private boolean eof;
        private long lineNumber;

        LineReader(InputStream in) {
            this.in = new BufferedInputStream(in);
        }

        @Override
        public boolean hasNext() {
            if (next == null && !eof) {
                next = readLine();
            }
            return next != null;
        }

        @Override
        public byte[] next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            byte[] l = next;
            next = null;
            return l;
        }

        private byte[] readLine() {
            line.reset();
            lineNumber++;
            try {
                int b;
                while ((b = in.read()) != -1) {
                    if (b == '\n') {
                        return trimmed();
                    }
                    if (line.size() >= MAX_LINE_BYTES) {
                        throw new CliFailure("line " + lineNumber + " of stdin is longer than " + MAX_LINE_BYTES
                                + " bytes");
                    }
                    line.write(b);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read stdin: " + e.getMessage(), e);
            }
            eof = true;
            return line.size() > 0 ? trimmed() : null;
        }

        private byte[] trimmed() {
            byte[] bytes = line.toByteArray();
            if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
                return java.util.Arrays.copyOf(bytes, bytes.length - 1);
            }
            return bytes;
        }
    }
}
