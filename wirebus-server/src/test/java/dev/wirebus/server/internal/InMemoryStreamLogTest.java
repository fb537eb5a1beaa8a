package dev.wirebus.server.internal;

import dev.wirebus.protocol.RecordBatch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class InMemoryStreamLogTest {

    private static RecordBatch batch(int from, int count) {
        List<byte[]> ps = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ps.add(("m" + (from + i)).getBytes());
        }
        return RecordBatch.of(ps);
    }

    /** Reads everything from {@code from} in reads of at most {@code max} records and {@code bytes} bytes. */
    private static List<String> readAll(InMemoryStreamLog log, long from, int max, int bytes) {
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
                    out.add(new String(s.batch().payload(i)));
                }
                expected += s.count();
            }
            seq += n;
        }
        return out;
    }

    @Test
    void sequencesAreContiguousFromOneAcrossBatches() {
        InMemoryStreamLog log = new InMemoryStreamLog(1_000_000, Long.MAX_VALUE);
        assertThat(log.append(batch(1, 3))).isEqualTo(1);
        assertThat(log.append(batch(4, 1))).isEqualTo(4);
        assertThat(log.append(batch(5, 5))).isEqualTo(5);
        assertThat(log.nextSequence()).isEqualTo(10);
        assertThat(log.firstSequence()).isEqualTo(1);
    }

    @Test
    void readsThatStopInsideABatchResumeExactlyWhereTheyStopped() {
        InMemoryStreamLog log = new InMemoryStreamLog(1_000_000, Long.MAX_VALUE);
        int seq = 1;
        for (int size : new int[] {7, 1, 13, 2, 30, 1, 1, 9}) {
            log.append(batch(seq, size));
            seq += size;
        }
        List<String> expected = new ArrayList<>();
        for (int i = 1; i < seq; i++) {
            expected.add("m" + i);
        }
        for (int max : new int[] {1, 2, 3, 5, 8, 100}) {
            for (int bytes : new int[] {1, 10, 25, 1000}) {
                for (long from : new long[] {1, 4, 8, 9, 22, 60}) {
                    assertThat(readAll(log, from, max, bytes)).as("from %d max %d bytes %d", from, max, bytes)
                            .isEqualTo(expected.subList((int) from - 1, expected.size()));
                }
            }
        }
    }

    @Test
    void retentionDropsWholeBatchesFromTheHead() {
        InMemoryStreamLog log = new InMemoryStreamLog(10, Long.MAX_VALUE);
        for (int i = 0; i < 10; i++) {
            log.append(batch(i * 4 + 1, 4));
        }
        // 40 appended, at most 10 kept, in whole batches of 4: sequences 33..40 remain
        assertThat(log.firstSequence()).isEqualTo(33);
        assertThat(readAll(log, 33, 100, 1 << 20)).containsExactly("m33", "m34", "m35", "m36", "m37", "m38", "m39", "m40");
    }

    @Test
    void retentionByBytesKeepsAtLeastTheNewestBatch() {
        InMemoryStreamLog log = new InMemoryStreamLog(1_000_000, 10);
        log.append(batch(1, 5));
        log.append(batch(6, 5));
        assertThat(log.firstSequence()).isEqualTo(6);
        assertThat(log.nextSequence()).isEqualTo(11);
    }

    @Test
    void theBatchArrayGrowsAndCompactsWithoutLosingOrder() {
        InMemoryStreamLog log = new InMemoryStreamLog(500, Long.MAX_VALUE);
        for (int i = 1; i <= 5000; i++) {
            log.append(batch(i, 1));
        }
        assertThat(log.firstSequence()).isEqualTo(4501);
        List<String> got = readAll(log, 4501, 64, 1 << 20);
        assertThat(got).hasSize(500);
        assertThat(got.get(0)).isEqualTo("m4501");
        assertThat(got.get(499)).isEqualTo("m5000");
    }

    @Test
    void aReadKeepsToTheByteLimitInsideOneBatchButAlwaysTakesOneRecord() {
        InMemoryStreamLog log = new InMemoryStreamLog(1_000_000, Long.MAX_VALUE);
        List<byte[]> ps = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            ps.add(new byte[100]); // 104 bytes each with its length prefix
        }
        log.append(RecordBatch.of(ps));
        log.append(RecordBatch.of(List.of(new byte[5000])));

        List<StreamLog.Slice> slices = new ArrayList<>();
        // the first batch touched is cut too (it used to be taken whole): as many records as fit
        assertThat(log.read(1, 1000, 1000, slices)).isEqualTo(9);
        assertThat(slices.get(0).bytes()).isEqualTo(9 * 104);
        slices.clear();
        assertThat(log.read(95, 1000, 1000, slices)).as("6 left in the batch, the next does not fit").isEqualTo(6);
        slices.clear();
        assertThat(log.read(101, 1000, 1000, slices)).as("one record larger than the limit").isEqualTo(1);
        slices.clear();
        assertThat(log.read(1, 1000, 10, slices)).isEqualTo(1);
    }
}
