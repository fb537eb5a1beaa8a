package dev.wirebus.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for what java.net.http cannot do: pick the source address, send a
 * half request, hold a connection without reading, see the connection close.
 */
final class RawHttp implements AutoCloseable {
    /** A response: status, headers (lower-case names) and body. */
    record Response(int status, Map<String, String> headers, String body) {
    }

    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to the gateway from {@code source} (e.g. 127.0.0.2), with a small receive buffer if asked. */
    static RawHttp connect(int port, String source, int receiveBuffer) {
        try {
            Socket s = new Socket();
            if (receiveBuffer > 0) {
                s.setReceiveBufferSize(receiveBuffer);
            }
            s.setSoTimeout(15_000);
            s.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            return new RawHttp(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static RawHttp connect(int port) {
        return connect(port, "127.0.0.1", 0);
    }

    void write(String text) {
        try {
            out.write(text.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends {@code GET path} on this connection and reads the answer. */
    Response get(String path) {
        write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        return readResponse();
    }

    /** Reads a response with a Content-Length body, or to the end of the stream without one. */
    Response readResponse() {
        String statusLine = readLine();
        if (statusLine == null) {
            throw new AssertionError("connection closed before a response");
        }
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = readHeaders();
        String length = headers.get("content-length");
        byte[] body = length != null ? readBytes(Integer.parseInt(length)) : new byte[0];
        return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    Map<String, String> readHeaders() {
        Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while ((line = readLine()) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return headers;
    }

    /** The chunks of a chunked body until its end or the end of the stream, joined. */
    String readChunkedToEnd() {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String size;
        while ((size = readLine()) != null) {
            if (size.isEmpty()) {
                continue;
            }
            int n = Integer.parseInt(size.trim(), 16);
            if (n == 0) {
                break;
            }
            body.writeBytes(readBytes(n));
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    /** True when the peer closed the connection (after reading and dropping whatever came before). */
    boolean closedByPeer() {
        try {
            byte[] buf = new byte[8192];
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    return true;
                }
            }
        } catch (IOException e) {
            return true; // reset
        }
    }

    private byte[] readBytes(int n) {
        try {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A CRLF-terminated line, or null at the end of the stream. */
    String readLine() {
        try {
            StringBuilder sb = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    int len = sb.length();
                    if (len > 0 && sb.charAt(len - 1) == '\r') {
                        sb.setLength(len - 1);
                    }
                    return sb.toString();
                }
                sb.append((char) c);
            }
            return sb.length() == 0 ? null : sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
