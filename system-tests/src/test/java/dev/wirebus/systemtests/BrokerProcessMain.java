package dev.wirebus.systemtests;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;

import java.nio.file.Path;

/**
 * A broker in a process of its own, for tests that kill it with SIGKILL:
 * {@code BrokerProcessMain SOCKET DATA_DIR DURABILITY [MAX_OPEN_FILES]}. Prints READY once listening.
 */
public final class BrokerProcessMain {
    private BrokerProcessMain() {
    }

    public static void main(String[] args) throws Exception {
        Broker broker = Broker.start(BrokerConfig.builder()
                .unixSocket(Path.of(args[0]))
                .storage(BrokerConfig.Storage.DISK)
                .dataDirectory(Path.of(args[1]))
                .durability(BrokerConfig.Durability.valueOf(args[2]))
                .segmentBytes(256 * 1024)
                .maxOpenFiles(args.length > 3 ? Integer.parseInt(args[3]) : 1024)
                .build());
        System.out.println("READY");
        System.out.flush();
        // stdin closing (the test ended) stops the broker; SIGKILL stops it harder
        while (System.in.read() >= 0) {
            // nothing to read; wait for end of input
        }
        broker.close();
    }
}
