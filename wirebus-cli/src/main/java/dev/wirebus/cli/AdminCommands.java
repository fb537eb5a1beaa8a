package dev.wirebus.cli;

import dev.wirebus.client.StreamInfo;
import dev.wirebus.client.StreamPage;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.security.TokenHash;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The admin commands of issue 13 ({@code wirebus streams}, {@code wirebus stream delete|trim},
 * {@code wirebus consumer delete}) and {@code wirebus token}. The admin commands are calls of the
 * Java client ({@link WirebusClient#streams}, {@code deleteStream}, {@code trimStream},
 * {@code deleteConsumer}) and reach the broker like every client command ({@link ConnectOptions}:
 * Unix socket, TCP or TLS, with a token); they need the admin permission on the streams they name
 * (docs/security.md).
 */
final class AdminCommands {
    private AdminCommands() {
    }

    /** How long an admin call may take before the command fails with TIMEOUT. */
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Runs one admin call of {@code client} and waits for it; a refusal becomes a {@link CliFailure}
     * of one line, {@code CODE: the broker's message} (PERMISSION_DENIED, NOT_FOUND, ...).
     */
    static <T> T await(CompletableFuture<T> call) {
        try {
            return call.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted", 130);
        } catch (TimeoutException e) {
            call.cancel(false);
            throw new CliFailure("TIMEOUT: no answer from the broker within " + CALL_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable cause = WirebusCommand.unwrap(e);
            if (cause instanceof WirebusException w) {
                throw new CliFailure(w.errorCode() == ErrorCode.UNKNOWN ? String.valueOf(w.getMessage())
                        : w.errorCode().name() + ": " + w.getMessage());
            }
            throw new CompletionException(cause);
        }
    }

    /** {@code wirebus streams}: the streams the principal may administer. */
    @Command(name = "streams", sortOptions = false, description = {
        "List the streams you may administer: one line per stream, tab-separated: STREAM, FIRST (oldest retained "
                + "sequence), LAST (last sequence), BYTES (retained) and CONSUMERS (durable consumers).",
        "",
        "Needs the admin permission on each stream listed (docs/security.md); others are left out.",
    })
    static final class StreamsCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--after", paramLabel = "NAME", description = "Start after this name (default: from the first).")
        String after = "";

        @Option(names = "--max", paramLabel = "N", description = "Most streams to list, 1..1000 per page (default: 1000).")
        int max = 1000;

        @Mixin
        ConnectOptions connect;

        @Override
        public Integer call() {
            if (max < 1) {
                throw new ParameterException(spec.commandLine(), "--max must be at least 1, was " + max);
            }
            PrintWriter out = spec.commandLine().getOut();
            try (WirebusClient client = connect.connectOnce("wirebus-streams")) {
                out.println("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS");
                String from = after;
                int left = max;
                while (left > 0) {
                    StreamPage page = await(client.streams(from, Math.min(left, 1000)));
                    for (StreamInfo s : page.streams()) {
                        out.println(s.name() + "\t" + s.firstSequence() + "\t" + s.lastSequence() + "\t" + s.bytes()
                                + "\t" + s.consumers());
                    }
                    from = page.lastName();
                    left -= page.streams().size();
                    if (!page.more() || page.streams().isEmpty()) {
                        break;
                    }
                }
                out.flush();
                return 0;
            }
        }
    }

    /** {@code wirebus stream delete|trim}. */
    @Command(name = "stream", description = "Delete or trim a stream (needs the admin permission on it).",
            subcommands = {DeleteStream.class, TrimStream.class})
    static final class StreamCommand {
    }

    @Command(name = "delete", description = {"Delete a stream, its messages and its durable consumers; its "
            + "subscribers are told NOT_FOUND. A later publish creates it again from sequence 1. Fails with "
            + "NOT_FOUND when there is no such stream, UNAVAILABLE on the Redis store."})
    static final class DeleteStream implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Mixin
        ConnectOptions connect;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (WirebusClient client = connect.connectOnce("wirebus-stream-delete")) {
                await(client.deleteStream(stream));
                PrintWriter out = spec.commandLine().getOut();
                out.println("deleted stream '" + stream + "' with its messages and durable consumers");
                out.flush();
                return 0;
            }
        }
    }

    @Command(name = "trim", description = "Drop a stream's messages below a sequence (as far as its storage allows).")
    static final class TrimStream implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Parameters(index = "1", paramLabel = "BEFORE", description = "Keep messages at and above this sequence.")
        long before;

        @Mixin
        ConnectOptions connect;

        @Override
        public Integer call() {
            try (WirebusClient client = connect.connectOnce("wirebus-stream-trim")) {
                await(client.trimStream(stream, before));
                return 0;
            }
        }
    }

    /** {@code wirebus consumer delete STREAM CONSUMER}. */
    @Command(name = "consumer", description = "Delete a durable consumer (needs the admin permission on its stream).",
            subcommands = {DeleteConsumer.class})
    static final class ConsumerCommand {
    }

    @Command(name = "delete", description = "Delete a durable consumer of a stream (NOT_FOUND when there is none, "
            + "INVALID_ARGUMENT while a subscription is attached to it).")
    static final class DeleteConsumer implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Parameters(index = "1", paramLabel = "CONSUMER")
        String consumer;

        @Mixin
        ConnectOptions connect;

        @Override
        public Integer call() {
            try (WirebusClient client = connect.connectOnce("wirebus-consumer-delete")) {
                await(client.deleteConsumer(stream, consumer));
                return 0;
            }
        }
    }

    /** {@code wirebus token}: a new random token and the hash to put in the config file. */
    @Command(name = "token", description = {
        "Print a new random token (give it to the client) and its hash (put it in the config file's "
                + "[security.principals.NAME] tokens list). With --hash, print the hash of the token read from stdin.",
    })
    static final class TokenCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--hash", description = "Hash the token read from standard input (one line) instead.")
        boolean hash;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            if (hash) {
                String line = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                        java.nio.charset.StandardCharsets.UTF_8)).readLine();
                if (line == null || line.isEmpty()) {
                    throw new CliFailure("no token on standard input");
                }
                out.println(TokenHash.of(line));
            } else {
                byte[] raw = new byte[32];
                new SecureRandom().nextBytes(raw);
                String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
                out.println("token: " + token);
                out.println("hash:  " + TokenHash.of(token));
            }
            out.flush();
            return 0;
        }
    }
}
