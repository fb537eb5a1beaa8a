package dev.wirebus.systemtests;

import dev.wirebus.testing.EmbeddedBroker;

/** {@link BrokerContract} over TCP on 127.0.0.1. */
class TcpBrokerTest extends BrokerContract {
    @Override
    EmbeddedBroker.Transport transport() {
        return EmbeddedBroker.Transport.TCP;
    }
}
