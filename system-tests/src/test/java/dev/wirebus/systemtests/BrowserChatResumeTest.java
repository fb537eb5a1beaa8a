package dev.wirebus.systemtests;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.Gateway;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The gateway's demo page in a real browser: {@code browser-tests/chat-resume.mjs} opens the
 * page in Debian's chromium, drops its WebSocket three times during a 200-chunk token stream, and
 * checks that every chunk arrived once, in order, and that the page shows the stream's text.
 *
 * <p>Needs {@code node}, {@code /usr/bin/chromium} (or {@code $CHROMIUM}) and
 * {@code browser-tests/node_modules} ({@code npm ci} there); {@code .ci/run} installs them. When
 * one is missing the test is skipped on a developer's machine and fails under CI ({@code CI} set).
 * The screenshot and the script's output stay in {@code system-tests/target/browser-artifacts/}.
 */
class BrowserChatResumeTest {
    private static final long SCRIPT_TIMEOUT_SECONDS = 150;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void tokenStreamSurvivesThreeDroppedWebSockets() throws Exception {
        Path repo = repositoryRoot();
        Path script = repo.resolve("browser-tests/chat-resume.mjs");
        Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
        Path node = onPath("node");
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(script)) missing.add(script + " (the browser test script)");
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
        Path screenshot = artifacts.resolve("chat-resume.png");
        Path output = artifacts.resolve("chat-resume.log");
        Files.deleteIfExists(screenshot);

        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient client = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway").connect();
             Gateway gateway = Gateway.builder().client(client).bind("127.0.0.1", 0).build().start()) {
            String url = "http://127.0.0.1:" + gateway.port();
            ProcessBuilder pb = new ProcessBuilder(node.toString(), script.toString(), url, screenshot.toString())
                    .directory(repo.resolve("browser-tests").toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            pb.environment().put("CHROMIUM", chromium.toString());
            Process process = pb.start();
            boolean finished = process.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!finished) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String log = Files.readString(output, StandardCharsets.UTF_8);
            System.out.println(log);
            assertThat(finished).as("chat-resume.mjs finished within %d s; its output:%n%s", SCRIPT_TIMEOUT_SECONDS, log).isTrue();
            assertThat(process.exitValue()).as("chat-resume.mjs exit code; its output:%n%s", log).isZero();
            assertThat(screenshot).as("the page's screenshot").isNotEmptyFile();
        }
    }

    /** The directory holding browser-tests/: Maven runs tests in the module's directory. */
    private static Path repositoryRoot() {
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
