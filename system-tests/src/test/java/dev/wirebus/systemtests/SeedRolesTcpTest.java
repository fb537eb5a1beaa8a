package dev.wirebus.systemtests;

import dev.wirebus.testing.EmbeddedBroker;

/** The seed roles over TCP. */
class SeedRolesTcpTest extends SeedRolesContract {
    @Override
    EmbeddedBroker.Transport transport() {
        return EmbeddedBroker.Transport.TCP;
    }
}
