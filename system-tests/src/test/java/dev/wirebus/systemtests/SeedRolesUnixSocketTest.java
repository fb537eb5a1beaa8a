package dev.wirebus.systemtests;

import dev.wirebus.testing.EmbeddedBroker;

/** The seed roles over the Unix socket (the test's own uid is mapped to no principal). */
class SeedRolesUnixSocketTest extends SeedRolesContract {
    @Override
    EmbeddedBroker.Transport transport() {
        return EmbeddedBroker.Transport.UNIX;
    }
}
