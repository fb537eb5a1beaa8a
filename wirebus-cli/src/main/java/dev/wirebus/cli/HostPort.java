package dev.wirebus.cli;

import picocli.CommandLine;

import java.net.InetSocketAddress;

/**
 * A {@code HOST:PORT} option value; an IPv6 host is written in brackets, {@code [::1]:7440}.
 *
 * <pre>{@code
 * HostPort hp = HostPort.parse("127.0.0.1:7440");
 * hp.uri();   // "tcp://127.0.0.1:7440"
 * }</pre>
 */
record HostPort(String host, int port) {

    static HostPort parse(String text) {
        String t = text.trim();
        int colon = t.lastIndexOf(':');
        if (colon < 0) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:7440)");
        }
        String host = t.substring(0, colon);
        String portText = t.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new CommandLine.TypeConversionException("'" + text
                    + "': write an IPv6 address in brackets, e.g. [::1]:7440");
        }
        if (host.isEmpty()) {
            throw new CommandLine.TypeConversionException("'" + text + "' has no host; e.g. 127.0.0.1:7440");
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65_535) {
            throw new CommandLine.TypeConversionException("'" + text + "' has no valid port (0 to 65535)");
        }
        return new HostPort(host, port);
    }

    static HostPort of(InetSocketAddress address) {
        return new HostPort(address.getHostString(), address.getPort());
    }

    InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /** {@code tcp://host:port}, with brackets around an IPv6 host. */
    String uri() {
        return "tcp://" + toString();
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** Picocli converter for {@code HOST:PORT} options. */
    static final class Converter implements CommandLine.ITypeConverter<HostPort> {
        @Override
        public HostPort convert(String value) {
            return parse(value);
        }
    }
}
