package dev.wirebus.server.internal;

import dev.wirebus.security.ReloadingSslContext;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;

/**
 * Puts TLS in front of a TCP connection's pipeline when the broker has TLS files: the
 * {@link SslHandler} of the current (reloaded when the files change) context, then a handler that
 * ends a failed handshake quietly (a bad or missing client certificate, a plain-text client): the
 * connection is closed, one debug line written, and no ERROR frame sent into a broken TLS session.
 */
public final class TlsInitializer {
    private static final Logger log = LoggerFactory.getLogger(TlsInitializer.class);

    private TlsInitializer() {
    }

    /** Adds TLS first in the pipeline of {@code ch}, if the broker has TLS. */
    public static void addTls(Channel ch, BrokerSecurity security) {
        ReloadingSslContext tls = security.tls();
        if (tls == null) {
            return;
        }
        SslHandler ssl = tls.current().newHandler(ch.alloc());
        ch.pipeline().addFirst("tls-failures", new HandshakeFailures());
        ch.pipeline().addFirst("tls", ssl);
    }

    /** Closes a connection whose TLS handshake or record layer failed, without an ERROR frame. */
    private static final class HandshakeFailures extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
                log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), e.cause().toString());
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            if (t instanceof SSLException) {
                log.debug("TLS failure on {}: {}", ctx.channel().remoteAddress(), t.toString());
                ctx.close();
                return;
            }
            ctx.fireExceptionCaught(cause);
        }
    }
}
