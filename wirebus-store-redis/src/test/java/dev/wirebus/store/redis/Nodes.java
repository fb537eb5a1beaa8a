package dev.wirebus.store.redis;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Brokers in this JVM, each on TCP and on the same Redis store, with a client each. */
final class Nodes implements AutoCloseable {
    final List<Broker> brokers = new ArrayList<>();
    final List<RedisStorage> stores = new ArrayList<>();
    final List<WirebusClient> clients = new ArrayList<>();

    static Nodes start(int n, String storeUri) throws IOException {
        return start(n, storeUri, b -> { });
    }

    static Nodes start(int n, String storeUri, java.util.function.Consumer<BrokerConfig.Builder> tune) throws IOException {
        Nodes nodes = new Nodes();
        try {
            for (int i = 0; i < n; i++) {
                nodes.add(storeUri, tune, "node-" + (char) ('a' + i));
            }
        } catch (IOException | RuntimeException e) {
            nodes.close();
            throw e;
        }
        return nodes;
    }

    void add(String storeUri, java.util.function.Consumer<BrokerConfig.Builder> tune, String name) throws IOException {
        BrokerConfig.Builder b = BrokerConfig.builder().unixSocket(null).tcp(new InetSocketAddress("127.0.0.1", 0))
                .serverName(name);
        tune.accept(b);
        BrokerConfig config = b.build();
        RedisStorage store = RedisStorage.open(RedisStoreSettings.parse(storeUri), config);
        Broker broker = Broker.start(config, store);
        stores.add(store);
        brokers.add(broker);
        clients.add(WirebusClient.builder().address("tcp://127.0.0.1:" + broker.tcpAddress().getPort())
                .name("client-of-" + name).requestTimeout(Duration.ofSeconds(20)).connect());
    }

    WirebusClient client(int i) {
        return clients.get(i);
    }

    Broker broker(int i) {
        return brokers.get(i);
    }

    @Override
    public void close() {
        clients.forEach(WirebusClient::close);
        brokers.forEach(Broker::close);
    }
}
