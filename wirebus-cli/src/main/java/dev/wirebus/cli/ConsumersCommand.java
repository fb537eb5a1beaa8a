package dev.wirebus.cli;

import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.StreamConsumers;
import dev.wirebus.client.WirebusClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code wirebus consumers STREAM}: a stream's durable consumers, their positions and lag. */
@Command(name = "consumers",
        description = {
            "Print a stream's durable consumers: one line per consumer, tab-separated: "
                    + "CONSUMER, ACKED (last acknowledged sequence), LAG (messages after it), MAX_LAG (0: does not "
                    + "hold publishers back) and CONNECTED (yes/no), after a header line with the stream's last sequence.",
        })
final class ConsumersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream to describe.")
    String stream;

    @Mixin
    ConnectOptions connect;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (WirebusClient client = connect.connectOnce("wirebus-consumers")) {
            StreamConsumers s = client.consumers(stream).get(10, TimeUnit.SECONDS);
            out.println("# stream " + stream + " last sequence " + s.lastSequence() + ", publishes held now "
                    + s.heldPublishes() + ", held in all " + s.heldMillis() + " ms, refused " + s.rejectedPublishes());
            out.println("CONSUMER\tACKED\tLAG\tMAX_LAG\tCONNECTED");
            for (ConsumerInfo c : s.consumers()) {
                out.println(c.name() + "\t" + c.ackedSequence() + "\t" + c.lag() + "\t" + c.maxLag() + "\t"
                        + (c.connected() ? "yes" : "no"));
            }
            out.flush();
            return 0;
        }
    }
}
