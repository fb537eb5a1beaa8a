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
    /**
     * Batches of a producer the broker remembers (docs/protocol.md §7.9); with --producer, at most
     * this many publishes are in flight, so a refused one is never that far below an appended one.
     */
    static final int REMEMBERED_BATCHES = 32;

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
                    + "sequence (so re-running a command that was cut off with the same input repeats nothing). The broker "
                    + "remembers a producer's last 32 batches: messages appended before those are skipped without a "
                    + "line (stderr says how many), and the rest published.")
    String producer;

    @Option(names = "--producer-seq", paramLabel = "N", defaultValue = "1",
            description = "Producer sequence of the first message with --producer (default: ${DEFAULT-VALUE}).")
    long producerSeq;

    @Option(names = "--in-flight", paramLabel = "N", defaultValue = "256",
            description = "Most messages sent but not yet acknowledged (default: ${DEFAULT-VALUE}; with --producer at "
                    + "most 32, the batches the broker remembers per producer).")
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
        if (producer != null) {
            // a message refused while later ones land stays within the batches the broker remembers,
            // so a re-run tells it apart from one appended long ago (see Pipeline#forgotten)
            inFlight = Math.min(inFlight, REMEMBERED_BATCHES);
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
            if (pipeline.skipped.get() > 0) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("wirebus: " + pipeline.skipped.get() + " message(s) had been published before by producer '"
                        + producer + "', longer ago than the broker remembers, and were skipped without a line");
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
        /** Messages skipped because an earlier run appended them and the broker forgot their batches. */
        final java.util.concurrent.atomic.AtomicLong skipped = new java.util.concurrent.atomic.AtomicLong();

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
                                : expectSeq == null ? client.publish(stream, payload).thenApply(dev.wirebus.client.PublishAck::firstSequence)
                                : client.publish(stream, payload, expectSeq + index - 1).thenApply(dev.wirebus.client.PublishAck::firstSequence);
                        if (index == 1 && producer != null && forgotten(ack.handle((seq, e) -> e).join(), index)) {
                            // an earlier run of this input appended more than the broker remembers: skip
                            // what it forgot at once instead of sending each of those messages in vain
                            long through = lastProducerSequence(ack.handle((seq, e) -> e).join())
                                    - REMEMBERED_BATCHES;
                            skipped.incrementAndGet();
                            while (producerSeq + index - 1 < through && input.hasNext()) {
                                input.next();
                                index++;
                                skipped.incrementAndGet();
                            }
                            slots.release();
                            continue;
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
         * The producer's last appended producer sequence when {@code failure} is a PRODUCER_SEQUENCE
         * error (the version 2 field, or what a version 1 broker's message states), else -1.
         */
        private long lastProducerSequence(Throwable failure) {
            Throwable cause = failure == null ? null : WirebusCommand.unwrap(failure);
            if (cause instanceof dev.wirebus.client.ServerRefusedException r
                    && r.errorCode() == dev.wirebus.protocol.ErrorCode.PRODUCER_SEQUENCE) {
                return r.lastProducerSequence().orElse(-1);
            }
            return -1;
        }

        /**
         * Whether message {@code index} was refused because an earlier run appended it longer ago
         * than the broker remembers: its producer sequence is more than {@link #REMEMBERED_BATCHES}
         * below the producer's last. Every run numbers the same input the same way, and with at most
         * that many publishes in flight a run leaves no unappended message that far below its last
         * one, so such a message was appended. A refused message within the remembered batches is
         * a real failure (the broker knows it was never appended).
         */
        private boolean forgotten(Throwable failure, long index) {
            long last = lastProducerSequence(failure);
            return last >= 0 && producerSeq + index - 1 <= last - REMEMBERED_BATCHES;
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
                    if (producer != null && forgotten(e, s.index())) {
                        // the tail of a cut run was still landing when this run began: appended then
                        skipped.incrementAndGet();
                        slots.release();
                        continue;
                    }
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
