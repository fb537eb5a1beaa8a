package dev.wirebus.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.UnixAccounts;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Access configurations, frames and assertions shared by the access-control tests. */
final class SecurityFixtures {
    /** The repository root: the parent of this module's directory, where tests run. */
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path SEED_ROLES = ROOT.resolve("examples/security/wirebus-roles.toml");
    static final Duration WAIT = Duration.ofSeconds(10);

    private SecurityFixtures() {
    }

    /** The {@code [security]} table of a TOML file, read as {@code wirebus serve} reads it. */
    static SecurityConfig read(Path toml) {
        try {
            JsonNode root = new TomlMapper().readTree(Files.readAllBytes(toml));
            @SuppressWarnings("unchecked")
            Map<String, Object> table = new ObjectMapper().convertValue(root.get("security"), Map.class);
            return SecurityConfig.fromTable(table, toml.getParent(), toml + ": [security]", toml,
                    UnixAccounts.system(), System::currentTimeMillis);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Writes {@code text} to a TOML file and reads its {@code [security]} table. */
    static SecurityConfig parse(Path dir, String text) throws IOException {
        Path file = dir.resolve("security-" + System.nanoTime() + ".toml");
        Files.writeString(file, text);
        return read(file);
    }

    static Frame.Auth auth(long id, String token) {
        return new Frame.Auth(id, Frame.Auth.BEARER, token.getBytes(StandardCharsets.UTF_8));
    }

    /** AUTH with {@code token} on {@code c}; asserts AUTH_OK naming {@code principal}. */
    static void authenticate(RawConnection c, String token, String principal) throws IOException {
        c.send(auth(900, token));
        Frame f = c.read(WAIT);
        assertThat(f).as("answer to AUTH").isInstanceOf(Frame.AuthOk.class);
        assertThat(((Frame.AuthOk) f).principal()).isEqualTo(principal);
    }

    /** Asserts that {@code f} is ERROR PERMISSION_DENIED for request {@code id} naming operation and resource. */
    static void assertDenied(Frame f, long id, String operation, String resource) {
        assertThat(f).as("answer to request " + id).isInstanceOf(Frame.Error.class);
        Frame.Error e = (Frame.Error) f;
        assertThat(e.code()).as(e.message()).isEqualTo(ErrorCode.PERMISSION_DENIED.code());
        assertThat(e.requestId()).isEqualTo(id);
        assertThat(e.message()).contains(operation + " on '" + resource + "' is not permitted for '");
    }

    /** Asserts an ERROR with {@code code}. */
    static void assertError(Frame f, ErrorCode code) {
        assertThat(f).isInstanceOf(Frame.Error.class);
        assertThat(((Frame.Error) f).code()).as(((Frame.Error) f).message()).isEqualTo(code.code());
    }

    static Frame.Publish publish(long id, String stream) {
        return new Frame.Publish(id, stream, 0, "x".getBytes(StandardCharsets.UTF_8));
    }

    static Frame.Subscribe subscribe(long id, int sub, String stream) {
        return new Frame.Subscribe(id, sub, stream, Frame.StartKind.EARLIEST, 0, 100);
    }

    static Frame.Consume consume(long id, int sub, String stream, String consumer) {
        return new Frame.Consume(id, sub, stream, consumer, Frame.StartKind.EARLIEST, 0, 100,
                Frame.Consume.ACK_EXPLICIT, 0, false);
    }

    /** Whether this process may run commands as another user (root with runuser). */
    static void assumeRootWithRunuser() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root to run a peer as the user nobody (runuser); running as " + System.getProperty("user.name"));
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")) || Files.isExecutable(Path.of("/sbin/runuser")),
                "runuser is not installed: no second uid to test with");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")),
                "/usr/bin/perl is not installed: the peer run as nobody is a perl one-liner");
    }

    /**
     * Sends {@code frames} (HELLO first, protocol version 2) over the Unix socket as the user
     * {@code nobody}, half-closes, and returns every frame the broker sent until it closed.
     */
    static List<Frame> asNobody(Path socket, Frame... frames) throws Exception {
        io.netty.buffer.ByteBuf out = io.netty.buffer.Unpooled.buffer();
        dev.wirebus.protocol.FrameCodec.encode(new Frame.Hello(1, 2, 2, "nobody"), out, 1);
        for (Frame f : frames) {
            dev.wirebus.protocol.FrameCodec.encode(f, out, 2);
        }
        String hex = io.netty.buffer.ByteBufUtil.hexDump(out);
        out.release();
        String script = "use IO::Socket::UNIX; my ($p,$h)=@ARGV; my $s=IO::Socket::UNIX->new(Type=>SOCK_STREAM(),"
                + "Peer=>$p) or die \"connect $p: $!\\n\"; binmode $s; print $s pack('H*',$h); $s->flush;"
                + " shutdown($s,1); my $o=''; while (sysread($s,my $b,65536)) { $o.=$b } print unpack('H*',$o);";
        Process p = new ProcessBuilder("runuser", "-u", "nobody", "--", "/usr/bin/perl", "-e", script,
                socket.toString(), hex).redirectErrorStream(true).start();
        String answer = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the peer run as nobody ended").isTrue();
        assertThat(p.exitValue()).as("peer as nobody: " + answer).isZero();
        io.netty.buffer.ByteBuf in = io.netty.buffer.Unpooled.wrappedBuffer(io.netty.buffer.ByteBufUtil.decodeHexDump(answer));
        List<Frame> got = new ArrayList<>();
        int version = 1;
        while (in.readableBytes() >= 4) {
            int len = in.readInt();
            Frame f = dev.wirebus.protocol.FrameCodec.decode(in.readRetainedSlice(len), version);
            if (f instanceof Frame.Welcome w) {
                version = w.version();
            }
            got.add(f);
        }
        in.release();
        return got;
    }
}
