package dev.wirebus.cli;

import dev.wirebus.client.Responder;
import dev.wirebus.client.WirebusClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@code wirebus respond}: answers every request on a subject with a fixed text, until stopped or,
 * with {@code --count}, until it answered that many.
 */
@Command(name = "respond",
        sortOptions = false,
        description = {
            "Answer every request on SUBJECT with TEXT until interrupted (or until --count requests were answered).",
            "",
            "Prints 'responding on SUBJECT' once the broker has registered it. Several responders may share a "
                    + "subject; each request goes to one of them. If the connection to the broker is lost it says so on "
                    + "stderr, reconnects and registers again.",
        })
final class RespondCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SUBJECT", description = "Subject to answer on.")
    String subject;

    @Option(names = "--reply", paramLabel = "TEXT", required = true, description = "The reply to every request (UTF-8).")
    String reply;

    @Option(names = "--count", paramLabel = "N", description = "Exit 0 after answering N requests.")
    Long count;

    @Mixin
    ConnectOptions connect;

    @Override
    public Integer call() throws Exception {
        if (count != null && count < 1) {
            throw new ParameterException(spec.commandLine(), "--count must be at least 1, was " + count);
        }
        PrintWriter out = spec.commandLine().getOut();
        byte[] replyBytes = reply.getBytes(StandardCharsets.UTF_8);
        Semaphore answered = new Semaphore(0);
        ExecutorService handlers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "wirebus-respond");
            t.setDaemon(true);
            return t;
        });
        // a request task runs the handler and queues its answer: once it returned, the answer is on its way
        Executor dispatch = task -> handlers.execute(() -> {
            try {
                task.run();
            } finally {
                answered.release();
            }
        });
        ConnectionReporter reporter = new ConnectionReporter(spec.commandLine().getErr());
        try (WirebusClient client = connect.connectLasting("wirebus-respond", reporter, dispatch)) {
            Responder responder = client.respond(subject, request -> replyBytes).join();
            out.println("responding on " + subject);
            out.flush();
            try {
                if (count == null) {
                    new CountDownLatch(1).await();
                }
                answered.acquire((int) Math.min(count, Integer.MAX_VALUE));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 130;
            }
            responder.close();
            // the broker handles a connection's frames in order: its PONG means the answers reached it
            client.ping().get(10, TimeUnit.SECONDS);
            return 0;
        } finally {
            handlers.shutdownNow();
        }
    }
}
