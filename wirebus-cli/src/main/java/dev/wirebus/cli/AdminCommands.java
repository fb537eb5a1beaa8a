package dev.wirebus.cli;

import dev.wirebus.protocol.Frame;
import dev.wirebus.security.TokenHash;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.Callable;

/**
 * The admin commands of issue 13 ({@code wirebus streams}, {@code wirebus stream delete|trim},
 * {@code wirebus consumer delete}) and {@code wirebus token}. The admin commands need the ADMIN
 * permission on the streams they name (docs/security.md); a token is given with {@code --token}
 * or {@code WIREBUS_TOKEN}.
 */
final class AdminCommands {
    private AdminCommands() {
    }

    /** Where the broker is, and the token to authenticate with. */
    static final class Target {
        @Mixin
        ConnectOptions connect;

        @Option(names = "--token", paramLabel = "TOKEN",
                description = "Bearer token (static token or JWT) to authenticate with; default $WIREBUS_TOKEN.")
        String token;

        AdminConnection open() {
            String t = token != null ? token : System.getenv("WIREBUS_TOKEN");
            return AdminConnection.open(connect.address(), t == null || t.isBlank() ? null : t);
        }
    }

    /** {@code wirebus streams}: the streams the principal may administer. */
    @Command(name = "streams", description = {
        "List the streams you may administer: one line per stream, tab-separated: STREAM, FIRST (oldest retained "
                + "sequence), LAST (last sequence), BYTES (retained) and CONSUMERS (durable consumers).",
    })
    static final class StreamsCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Target target;

        @Option(names = "--after", paramLabel = "NAME", description = "Start after this name (default: from the first).")
        String after = "";

        @Option(names = "--max", paramLabel = "N", description = "Most streams to list, 1..1000 per page (default: 1000).")
        int max = 1000;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (AdminConnection c = target.open()) {
                out.println("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS");
                String from = after;
                int left = max;
                while (left > 0) {
                    Frame.StreamList page = (Frame.StreamList) c.call(new Frame.Streams(3, from, Math.min(left, 1000)));
                    for (Frame.StreamInfo s : page.streams()) {
                        out.println(s.name() + "\t" + s.firstSequence() + "\t" + s.lastSequence() + "\t" + s.bytes()
                                + "\t" + s.consumers());
                        from = s.name();
                    }
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
        @Mixin
        Target target;

        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (AdminConnection c = target.open()) {
                c.call(new Frame.DeleteStream(3, stream));
                PrintWriter out = spec.commandLine().getOut();
                out.println("deleted stream '" + stream + "' with its messages and durable consumers");
                out.flush();
                return 0;
            }
        }
    }

    @Command(name = "trim", description = "Drop a stream's messages below a sequence (as far as its storage allows).")
    static final class TrimStream implements Callable<Integer> {
        @Mixin
        Target target;

        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Parameters(index = "1", paramLabel = "BEFORE", description = "Keep messages at and above this sequence.")
        long before;

        @Override
        public Integer call() {
            try (AdminConnection c = target.open()) {
                c.call(new Frame.TrimStream(3, stream, before));
                return 0;
            }
        }
    }

    /** {@code wirebus consumer delete STREAM CONSUMER}. */
    @Command(name = "consumer", description = "Delete a durable consumer (needs the admin permission on its stream).",
            subcommands = {DeleteConsumer.class})
    static final class ConsumerCommand {
    }

    @Command(name = "delete", description = "Delete a durable consumer of a stream.")
    static final class DeleteConsumer implements Callable<Integer> {
        @Mixin
        Target target;

        @Parameters(index = "0", paramLabel = "STREAM")
        String stream;

        @Parameters(index = "1", paramLabel = "CONSUMER")
        String consumer;

        @Override
        public Integer call() {
            try (AdminConnection c = target.open()) {
                c.call(new Frame.DeleteConsumer(3, stream, consumer));
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
