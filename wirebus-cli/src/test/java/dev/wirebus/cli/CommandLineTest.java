package dev.wirebus.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What every command has in common: help, version, and one-line errors with the right exit code. */
@Timeout(120)
class CommandLineTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"", "serve", "pub", "sub", "req", "respond", "consumers"})
    void everyCommandPrintsHelpAndVersion(String command) {
        String[] help = command.isEmpty() ? new String[] {"--help"} : new String[] {command, "--help"};
        String[] version = command.isEmpty() ? new String[] {"--version"} : new String[] {command, "--version"};

        Cli.Result h = Cli.run(help);
        Cli.Result v = Cli.run(version);

        assertThat(h.exitCode()).isZero();
        assertThat(h.out()).startsWith("Usage: wirebus" + (command.isEmpty() ? "" : " " + command));
        assertThat(v.exitCode()).isZero();
        assertThat(v.out()).startsWith("wirebus ").contains("protocol version");
        assertThat(h.err() + v.err()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"pub", "sub", "req", "respond"})
    void aClientCommandWithoutABrokerFailsWithOneLineNamingTheMissingSocket(String command) {
        Path missing = dir.resolve("wirebus.sock");
        String[] args = switch (command) {
            case "respond" -> new String[] {command, "subject", "--reply", "r", "--uds", missing.toString()};
            case "req" -> new String[] {command, "subject", "m", "--uds", missing.toString()};
            default -> new String[] {command, "stream", "m", "--uds", missing.toString()};
        };
        if (command.equals("sub")) {
            args = new String[] {command, "stream", "--uds", missing.toString()};
        }

        Cli.Result r = Cli.run(args);

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: no broker socket at " + missing + " (no such file): is 'wirebus serve' running");
    }

    @Test
    void noCommandIsAUsageError() {
        Cli.Result r = Cli.run();

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString()
                .isEqualTo("wirebus: missing command: serve, pub, sub, req, respond or consumers (see 'wirebus --help')");
    }

    @Test
    void badArgumentsGiveOneLineAndExitCodeTwo() {
        assertUsageError(Cli.run("frobnicate"), "frobnicate");
        assertUsageError(Cli.run("pub"), "STREAM");
        assertUsageError(Cli.run("req", "s", "m", "--timeout", "10"), "'10' is not a duration");
        assertUsageError(Cli.run("sub", "s", "--from", "soon"), "start position 'soon'");
        assertUsageError(Cli.run("sub", "s", "--count", "0"), "--count must be at least 1");
        assertUsageError(Cli.run("pub", "s", "--uds", "a.sock", "--tcp", "h:1"), "mutually exclusive");
        assertUsageError(Cli.run("pub", "s", "--tcp", "7440"), "is not HOST:PORT");
        assertUsageError(Cli.run("pub", "s", "--expect-seq", "0", "m"), "--expect-seq must be at least 1");
        assertUsageError(Cli.run("respond", "s"), "--reply");
    }

    private static void assertUsageError(Cli.Result r, String mentions) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: ")
                .contains(mentions)
                .endsWith(" --help')");
    }
}
