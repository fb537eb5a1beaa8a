package dev.wirebus.conformance;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the language-neutral conformance suite ({@code conformance/run.py}) for the Java driver
 * against a broker started from {@code wirebus-cli/target/wirebus.jar} (built before this module:
 * it is a test dependency), after {@code package} so the driver jar exists. Also checks that the
 * suite can fail: a broken expectation and a driver that never answers must both be reported.
 */
class ConformanceIT {
    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path ROOT = MODULE.getParent();
    private static final Path LOGS = MODULE.resolve("target/conformance");
    private static final Pattern SUMMARY = Pattern.compile("(\\d+) passed, (\\d+) failed");

    record Result(int exit, List<String> lines) {
        String last() {
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }

        String text() {
            return String.join("\n", lines);
        }
    }

    private static Result run(String logs, String... args) throws IOException, InterruptedException {
        Path out = LOGS.resolve(logs + ".out");
        Files.createDirectories(LOGS);
        List<String> cmd = new ArrayList<>(List.of("python3", "conformance/run.py",
                "--jar", ROOT.resolve("wirebus-cli/target/wirebus.jar").toString(),
                "--logs", LOGS.resolve(logs).toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("run.py did not finish within 10 minutes; output so far in " + out);
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        return new Result(p.exitValue(), lines);
    }

    @Tag("slow") // conformance/run-all.sh (CI) runs the same scenarios for every client
    @Test
    void everyScenarioPassesForTheJavaClient() throws Exception {
        Result r = run("java", "--clients", "java");

        Matcher m = SUMMARY.matcher(r.last());
        assertThat(m.matches()).as("last line of:\n%s", r.text()).isTrue();
        long passLines = r.lines().stream().filter(l -> l.startsWith("PASS  ")).count();
        assertThat(Integer.parseInt(m.group(2))).as(r.text()).isZero();
        assertThat(Integer.parseInt(m.group(1))).as(r.text()).isEqualTo(passLines).isGreaterThanOrEqualTo(15);
        assertThat(r.exit()).as(r.text()).isZero();
    }

    @Test
    void aBrokenExpectationFailsTheRun() throws Exception {
        // the real expected-sequence scenario with one expectation wrong: the stream is at 2, not 1
        String scenarios = Files.readString(ROOT.resolve("conformance/scenarios.json"));
        String broken = scenarios.replaceFirst(
                "(\"payload\": \\{\"text\": \"e2-again\"}, \"expectedSequence\": 2,\\s*\"expect\": \\{\"ok\": false, \"error\": "
                        + "\\{\"code\": 10, \"name\": \"SEQUENCE_MISMATCH\", \"fields\": \\{\"\\$v2\": \\{\"lastSequence\": )2",
                "$11");
        assertThat(broken).isNotEqualTo(scenarios);
        Path file = LOGS.resolve("broken-scenarios.json");
        Files.createDirectories(LOGS);
        Files.writeString(file, broken);

        Result r = run("broken", "--clients", "java", "--scenarios", file.toString(), "--only", "expected-sequence",
                "--no-matrix");

        assertThat(r.last()).as(r.text()).isEqualTo("0 passed, 1 failed");
        assertThat(r.text()).contains("FAIL  expected-sequence [java]: step 3 A publish: error.fields.lastSequence: "
                + "expected 1, got 2");
        assertThat(r.exit()).isEqualTo(1);
    }

    @Test
    void aDriverThatNeverAnswersFailsAndIsKilled() throws Exception {
        Path drivers = LOGS.resolve("silent-drivers.json");
        Files.createDirectories(LOGS);
        // reads its commands and never answers
        Files.writeString(drivers, "{\"silent\": {\"command\": [\"python3\", \"-c\", "
                + "\"import sys\\nfor line in sys.stdin: pass\"], \"cwd\": \".\", \"env\": {}}}");

        Result r = run("silent", "--clients", "silent", "--drivers", drivers.toString(), "--only", "subscribe-latest",
                "--no-matrix", "--connect-timeout", "3");

        assertThat(r.last()).as(r.text()).isEqualTo("0 passed, 1 failed");
        assertThat(r.text()).contains("FAIL  subscribe-latest [silent]: connect A: ")
                .contains("no answer within 3 s (driver killed)");
        assertThat(r.exit()).isEqualTo(1);
    }
}
