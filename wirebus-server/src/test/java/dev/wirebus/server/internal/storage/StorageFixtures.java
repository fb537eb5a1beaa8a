package dev.wirebus.server.internal.storage;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.StreamLog;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Batches, full reads and log capture shared by the storage tests. */
final class StorageFixtures {
    private StorageFixtures() {
    }

    /** Payload of record {@code seq}: its number with a length that varies with it. */
    static String payload(long seq) {
        return "m" + seq + "-" + "x".repeat((int) (seq * 7 % 23));
    }

    /** A batch of {@code count} records whose payloads name the sequences they will get from {@code first}. */
    static RecordBatch batch(long first, int count) {
        List<byte[]> ps = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ps.add(payload(first + i).getBytes(StandardCharsets.UTF_8));
        }
        return RecordBatch.of(ps);
    }

    /** Appends batches of the given sizes; returns the next sequence. */
    static long appendBatches(StreamLog log, int... sizes) {
        for (int size : sizes) {
            long first = log.nextSequence();
            assertThat(log.append(batch(first, size))).isEqualTo(first);
        }
        return log.nextSequence();
    }

    /** The payloads of every record from {@code from} on, read in reads of at most {@code max} records and {@code bytes}. */
    static List<String> readAll(StreamLog log, long from, int max, int bytes) {
        List<String> out = new ArrayList<>();
        long seq = from;
        while (seq < log.nextSequence()) {
            List<StreamLog.Slice> slices = new ArrayList<>();
            int n = log.read(seq, max, bytes, slices);
            assertThat(n).isPositive().isLessThanOrEqualTo(max);
            long expected = seq;
            for (StreamLog.Slice s : slices) {
                assertThat(s.firstSequence()).isEqualTo(expected);
                for (int i = s.from(); i < s.to(); i++) {
                    out.add(new String(s.batch().payload(i), StandardCharsets.UTF_8));
                }
                expected += s.count();
            }
            seq += n;
        }
        return out;
    }

    /** The expected payloads of sequences {@code [from, to)}. */
    static List<String> payloads(long from, long to) {
        List<String> out = new ArrayList<>();
        for (long s = from; s < to; s++) {
            out.add(payload(s));
        }
        return out;
    }

    /** Captures the storage package's log events until closed. */
    static final class CapturedLog implements AutoCloseable {
        private final Logger logger = (Logger) LoggerFactory.getLogger("dev.wirebus.server.internal.storage");
        private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

        CapturedLog() {
            appender.start();
            logger.addAppender(appender);
        }

        List<String> warnings() {
            return appender.list.stream().filter(e -> e.getLevel() == Level.WARN)
                    .map(ILoggingEvent::getFormattedMessage).toList();
        }

        @Override
        public void close() {
            logger.detachAppender(appender);
            appender.stop();
        }
    }
}
