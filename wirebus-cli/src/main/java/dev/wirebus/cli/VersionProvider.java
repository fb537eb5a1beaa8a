package dev.wirebus.cli;

import dev.wirebus.protocol.FrameCodec;
import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** {@code wirebus --version}: the build's version, the protocol version and the JVM it runs on. */
final class VersionProvider implements CommandLine.IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {
            "wirebus " + version(),
            "protocol version " + FrameCodec.PROTOCOL_VERSION + " (speaks " + FrameCodec.MIN_PROTOCOL_VERSION + ".."
                    + FrameCodec.PROTOCOL_VERSION + ")",
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ") on "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch"),
        };
    }

    static String version() {
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isEmpty() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException ignored) {
            // fall through to "unknown"
        }
        return "(unknown version)";
    }
}
