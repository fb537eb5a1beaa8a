package dev.wirebus.systemtests;

import dev.wirebus.server.BrokerConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A broker in a separate JVM ({@link BrokerProcessMain}) on a socket and data directory, for SIGKILL tests. */
final class BrokerProcess implements AutoCloseable {
    private final Process process;

    private BrokerProcess(Process process) {
        this.process = process;
    }

    /** Starts the broker and waits until it listens; its stderr goes to {@code errors}. */
    static BrokerProcess start(Path socket, Path data, BrokerConfig.Durability durability, Path errors)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return start(new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                BrokerProcessMain.class.getName(), socket.toString(), data.toString(), durability.name()), errors);
    }

    /**
     * Starts the broker with its file descriptors limited to {@code fdLimit} ({@code ulimit -n}) and
     * the store's open-file budget set to {@code maxOpenFiles}; asserts that it comes up.
     */
    static BrokerProcess startWithFdLimit(Path socket, Path data, Path errors, int fdLimit, int maxOpenFiles)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return start(new ProcessBuilder("/bin/sh", "-c", "ulimit -n " + fdLimit + " && exec \"$0\" \"$@\"", java,
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), BrokerProcessMain.class.getName(),
                socket.toString(), data.toString(), BrokerConfig.Durability.ALWAYS.name(),
                Integer.toString(maxOpenFiles)), errors);
    }

    private static BrokerProcess start(ProcessBuilder builder, Path errors) throws Exception {
        Process p = builder.redirectError(errors.toFile()).start();
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("READY")) {
                        return line;
                    }
                }
                return "exited";
            } catch (IOException e) {
                return e.toString();
            }
        });
        assertThat(ready.get(60, TimeUnit.SECONDS)).as("broker start; see " + errors).isEqualTo("READY");
        return new BrokerProcess(p);
    }

    /** SIGKILL, and wait for the process to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("broker process ended").isTrue();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }
}
