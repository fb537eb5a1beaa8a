package dev.wirebus.systemtests;

import dev.wirebus.testing.EmbeddedBroker;

/** {@link BrokerContract} over Unix domain sockets. */
class UnixSocketBrokerTest extends BrokerContract {
    @Override
    EmbeddedBroker.Transport transport() {
        return EmbeddedBroker.Transport.UNIX;
    }
}
