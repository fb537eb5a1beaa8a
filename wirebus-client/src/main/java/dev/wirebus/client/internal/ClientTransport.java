package dev.wirebus.client.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/** Native epoll on Linux, NIO elsewhere; the channel type and socket address for a target. */
final class ClientTransport {
    private static final boolean EPOLL = Epoll.isAvailable();

    private ClientTransport() {
    }

    static EventLoopGroup newGroup(String name) {
        IoHandlerFactory factory = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(name, true), factory);
    }

    static Class<? extends Channel> channelType(ClientOptions.Target target) {
        if (target.unixPath() != null) {
            return EPOLL ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
        }
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    static SocketAddress socketAddress(ClientOptions.Target target) {
        if (target.unixPath() != null) {
            return EPOLL ? new DomainSocketAddress(target.unixPath().toString())
                    : UnixDomainSocketAddress.of(target.unixPath());
        }
        return new InetSocketAddress(target.tcp().getHostString(), target.tcp().getPort());
    }
}
