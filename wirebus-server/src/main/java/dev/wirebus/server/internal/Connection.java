package dev.wirebus.server.internal;

import dev.wirebus.security.Principal;
import io.netty.channel.Channel;

import java.util.Set;

/** What the broker's shared parts need to know of one client connection. */
public interface Connection {
    Channel channel();

    /** The name the client gave in HELLO ("" before the handshake). */
    String clientName();

    /** Who the connection acts for: {@link Principal#ANONYMOUS} until it authenticates. */
    Principal principal();

    /** Subjects this connection responds on. */
    Set<String> subjects();

    /** Ids of routed requests this connection takes part in, as requester or responder. */
    Set<Long> pendingRequests();
}
