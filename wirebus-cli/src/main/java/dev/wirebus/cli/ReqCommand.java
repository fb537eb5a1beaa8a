package dev.wirebus.cli;

import dev.wirebus.client.WirebusClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code wirebus req}: sends one request and prints the reply. */
@Command(name = "req",
        sortOptions = false,
        description = {
            "Send a request to one responder of SUBJECT and print its reply (as UTF-8).",
            "",
            "Fails with exit code 1 when nobody responds on SUBJECT (NO_RESPONDERS), when no reply comes within "
                    + "--timeout (TIMEOUT), or when the responder failed.",
        })
final class ReqCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SUBJECT", description = "Subject to send the request on.")
    String subject;

    @Parameters(index = "1", arity = "0..1", paramLabel = "MESSAGE",
            description = "The request (UTF-8; default: empty).")
    String message = "";

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "How long to wait for the reply, e.g. 500ms, 10s, 2m (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Mixin
    ConnectOptions connect;

    @Override
    public Integer call() {
        try (WirebusClient client = connect.connectOnce("wirebus-req")) {
            byte[] reply = client.request(subject, message.getBytes(StandardCharsets.UTF_8), timeout).join();
            spec.commandLine().getOut().println(new String(reply, StandardCharsets.UTF_8));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
