package dev.wirebus.cli;

import dev.wirebus.server.Broker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGHUP reloads the access configuration of {@code wirebus serve} ({@code kill -HUP PID}), as the
 * broker also does by itself when the config file changes.
 */
final class SecuritySignals {
    private static final Logger log = LoggerFactory.getLogger(SecuritySignals.class);

    private SecuritySignals() {
    }

    /** Installs the SIGHUP handler, where the JVM lets a program handle it. */
    @SuppressWarnings("restriction")
    static void reloadOnHangup(Broker broker) {
        if (broker.config().securityReloader() == null) {
            return;
        }
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                log.info("SIGHUP: reloading the access configuration");
                broker.reloadSecurity();
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            log.warn("SIGHUP cannot be handled here ({}); the config file is still watched for changes",
                    e.getMessage());
        }
    }
}
