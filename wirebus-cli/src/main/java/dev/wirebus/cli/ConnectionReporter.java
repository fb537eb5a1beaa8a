package dev.wirebus.cli;

import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.WirebusException;

import java.io.PrintWriter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Tells the user of a long-running client (sub, respond) about connection trouble, one line each on
 * stderr: a lost connection, a reconnect, a broker going away, an error no call receives.
 *
 * <p>An error that also ends the command (a subscription the broker closed) reaches both this
 * listener and the command; {@link #claim} makes sure it is printed once.
 */
final class ConnectionReporter implements ConnectionListener {
    private final PrintWriter err;
    private final Set<Throwable> handled = Collections.newSetFromMap(new IdentityHashMap<>());
    private volatile boolean connected;

    ConnectionReporter(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void onStateChange(ConnectionState state) {
        switch (state) {
            case RECONNECTING -> say("connection to the broker lost; reconnecting");
            case CONNECTED -> {
                if (connected) {
                    say("reconnected to the broker");
                }
                connected = true;
            }
            default -> { }
        }
    }

    @Override
    public void onError(Throwable error) {
        synchronized (handled) {
            if (handled.add(error)) {
                say(error instanceof WirebusException w ? WirebusCommand.describe(w) : String.valueOf(error.getMessage()));
            }
        }
    }

    /**
     * The command takes over reporting {@code error}.
     *
     * @return false when this listener already printed it (the command then prints nothing more)
     */
    boolean claim(Throwable error) {
        synchronized (handled) {
            return handled.add(error);
        }
    }

    private void say(String line) {
        synchronized (err) {
            err.println("wirebus: " + line);
            err.flush();
        }
    }
}
