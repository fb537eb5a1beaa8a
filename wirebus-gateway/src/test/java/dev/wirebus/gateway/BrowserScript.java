package dev.wirebus.gateway;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs one of {@code browser-tests/*.mjs} in node with Debian's chromium, answering its
 * {@code control: ...} lines (a line written to its stdin) so that a script can ask the Java side to
 * act mid-run (close a gateway). Skipped when node, chromium or {@code browser-tests/node_modules}
 * are missing, except under CI ({@code CI} set), where that fails. Output and screenshot go to
 * {@code target/browser-artifacts/}. Public, in the module's test-jar, for wirebus-cli's tests.
 */
public final class BrowserScript {
    static final long TIMEOUT_SECONDS = 150;

    public record Result(boolean finished, int exitCode, String output) {
    }

    private BrowserScript() {
    }

    /**
     * Runs {@code script} with {@code args} (a screenshot path is appended) and {@code env}; each
     * {@code control: X} line it prints is given to {@code control}, whose answer (if not null) is
     * written to its stdin as a line.
     */
    public static Result run(String script, List<String> args, Map<String, String> env, Function<String, String> control)
            throws Exception {
        Path repo = repositoryRoot();
        Path file = repo.resolve("browser-tests").resolve(script);
        Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
        Path node = onPath("node");
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(file)) missing.add(file + " (the browser test script)");
        if (!Files.isExecutable(chromium)) missing.add(chromium + " (apt-get install -y chromium)");
        if (node == null) missing.add("node on PATH (apt-get install -y nodejs npm)");
        if (!Files.isDirectory(repo.resolve("browser-tests/node_modules/playwright-core"))) {
            missing.add(repo.resolve("browser-tests/node_modules/playwright-core") + " (cd browser-tests && npm ci)");
        }
        if (!missing.isEmpty()) {
            String message = "the browser test needs: " + String.join(", ", missing) + " — .ci/run installs them";
            if (System.getenv("CI") != null) fail(message);
            assumeTrue(false, message);
        }
        Path artifacts = Path.of("target", "browser-artifacts").toAbsolutePath();
        Files.createDirectories(artifacts);
        String name = script.replace(".mjs", "");
        List<String> command = new ArrayList<>(List.of(node.toString(), file.toString()));
        command.addAll(args);
        command.add(artifacts.resolve(name + ".png").toString());
        ProcessBuilder pb = new ProcessBuilder(command).directory(repo.resolve("browser-tests").toFile())
                .redirectErrorStream(true);
        pb.environment().put("CHROMIUM", chromium.toString());
        pb.environment().putAll(env);
        Process process = pb.start();
        StringBuilder output = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                 Writer toScript = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    if (line.startsWith("control: ")) {
                        String answer = control.apply(line.substring("control: ".length()).trim());
                        if (answer != null) {
                            toScript.write(answer + "\n");
                            toScript.flush();
                        }
                    }
                }
            } catch (IOException e) {
                synchronized (output) {
                    output.append("(reading the script's output failed: ").append(e).append(")\n");
                }
            }
        }, "browser-script-" + name);
        reader.setDaemon(true);
        reader.start();
        boolean finished = process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (!finished) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(TimeUnit.SECONDS.toMillis(10));
        String out;
        synchronized (output) {
            out = output.toString();
        }
        try {
            Files.writeString(artifacts.resolve(name + ".log"), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.println(out);
        return new Result(finished, finished ? process.exitValue() : -1, out);
    }

    /** The directory holding browser-tests/: Maven runs tests in the module's directory. */
    static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("browser-tests"))) return d;
        }
        return dir.getParent() != null ? dir.getParent() : dir;
    }

    private static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
