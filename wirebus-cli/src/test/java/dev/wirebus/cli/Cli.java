package dev.wirebus.cli;

import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real {@code wirebus} command line in-process, as {@link WirebusCommand#main} does, with
 * stdin given and stdout/stderr captured. Every run has a deadline. The environment {@code serve}
 * reads its {@code WIREBUS_*} settings from is empty unless given, whatever the real one holds,
 * except that {@code WIREBUS_HTTP} is {@code off} unless given: a test that wants the HTTP gateway
 * asks for it (on port 0), so tests never contend for the default port.
 */
final class Cli {
    static final Duration DEADLINE = Duration.ofSeconds(30);

    private Cli() {
    }

    /** Exit code and captured output of a finished run. */
    record Result(int exitCode, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Result run(String... args) {
        return start(InputStream.nullInputStream(), args).awaitExit(DEADLINE);
    }

    /** Runs with {@code environment} as the process environment. */
    static Result run(Map<String, String> environment, String... args) {
        return start(environment, args).awaitExit(DEADLINE);
    }

    static Result runWithStdin(String stdin, String... args) {
        return start(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), args).awaitExit(DEADLINE);
    }

    static Running start(String... args) {
        return start(InputStream.nullInputStream(), args);
    }

    static Running start(InputStream stdin, String... args) {
        return new Running(stdin, Map.of(), args);
    }

    /** Starts with {@code environment} as the process environment. */
    static Running start(Map<String, String> environment, String... args) {
        return new Running(InputStream.nullInputStream(), environment, args);
    }

    /** A command running on its own thread. */
    static final class Running implements AutoCloseable {
        private final StringWriter out = new StringWriter();
        private final StringWriter err = new StringWriter();
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();
        private final Thread thread;

        Running(InputStream stdin, Map<String, String> environment, String[] args) {
            Map<String, String> withHttp = new java.util.HashMap<>(environment);
            withHttp.putIfAbsent("WIREBUS_HTTP", "off");
            Map<String, String> env = Map.copyOf(withHttp);
            CommandLine cl = WirebusCommand.newCommandLine(stdin, () -> env);
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            thread = new Thread(() -> {
                try {
                    exit.complete(cl.execute(args));
                } catch (Throwable t) {
                    exit.completeExceptionally(t);
                }
            }, "wirebus " + String.join(" ", args));
            thread.setDaemon(true);
            thread.start();
        }

        String out() {
            return out.toString();
        }

        String err() {
            return err.toString();
        }

        boolean isDone() {
            return exit.isDone();
        }

        /** Interrupts the command, as a stop request. */
        void interrupt() {
            thread.interrupt();
        }

        Result awaitExit(Duration deadline) {
            try {
                int code = exit.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
                return new Result(code, out(), err());
            } catch (Exception e) {
                throw new AssertionError("'" + thread.getName() + "' did not finish within " + deadline
                        + "; stdout so far: [" + out() + "], stderr: [" + err() + "]", e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            if (!exit.isDone()) {
                thread.interrupt();
                thread.join(DEADLINE.toMillis());
            }
        }
    }
}
