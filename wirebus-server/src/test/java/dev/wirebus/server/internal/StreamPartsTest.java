package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.storage.GroupCommitter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** How {@link Stream} combines its parts: visibility after durability, the gate, duplicates. */
class StreamPartsTest {
    private static final long ANY = Frame.NO_EXPECTED_SEQUENCE;

    /** A durability that completes only when the test says (an fsync the test performs). */
    private static final class ManualDurability implements Durability {
        final List<GroupCommitter.Callback> waiting = new ArrayList<>();

        @Override
        public boolean awaitStored(long lastSequence, GroupCommitter.Callback onStored) {
            waiting.add(onStored);
            return true;
        }

        void completeAll() {
            List<GroupCommitter.Callback> now = new ArrayList<>(waiting);
            waiting.clear();
            now.forEach(c -> c.completed(null));
        }
    }

    /** What the listener heard, as "first+count", "dup first+count" or the error code. */
    private final List<String> heard = new ArrayList<>();
    private final Stream.AppendListener listener = new Stream.AppendListener() {
        @Override
        public void appended(long first, int count, Throwable failure) {
            heard.add(failure == null ? first + "+" + count
                    : ((BrokerException) failure).code() + ": " + failure.getMessage());
        }

        @Override
        public void duplicate(long first, int count) {
            heard.add("dup " + first + "+" + count);
        }
    };
    private final ManualClock clock = new ManualClock();

    private static RecordBatch one(String s) {
        return RecordBatch.of(s.getBytes());
    }

    private int readable(Stream s, Stream.Waiter waiter) {
        List<StreamLog.Slice> out = new ArrayList<>();
        Stream.ReadStatus status = s.read(1, 100, 1 << 20, out, waiter);
        return status == Stream.ReadStatus.RECORDS ? out.stream().mapToInt(StreamLog.Slice::count).sum() : 0;
    }

    @Test
    void recordsAreNeitherAcknowledgedNorVisibleBeforeTheyAreStored() {
        ManualDurability durability = new ManualDurability();
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), durability);
        int[] wakes = {0};
        Stream.Waiter waiter = new Stream.Waiter() {
            @Override
            protected void wake() {
                wakes[0]++;
            }
        };
        s.append(one("a"), ANY, null, 0, listener, clock, 1000);
        assertThat(heard).isEmpty();
        assertThat(readable(s, waiter)).isZero();

        durability.completeAll();
        assertThat(heard).containsExactly("1+1");
        assertThat(wakes[0]).isEqualTo(1);
        assertThat(readable(s, null)).isEqualTo(1);
    }

    @Test
    void withImmediateDurabilityAnAppendIsAcknowledgedAndVisibleAtOnce() {
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), Durability.IMMEDIATE);
        s.append(one("a"), ANY, null, 0, listener, clock, 1000);
        assertThat(heard).containsExactly("1+1");
        assertThat(readable(s, null)).isEqualTo(1);
    }

    @Test
    void aDuplicateIsAnsweredOnlyOnceTheOriginalIsStored() {
        ManualDurability durability = new ManualDurability();
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), durability);
        s.append(one("a"), ANY, "p", 1, listener, clock, 1000);
        s.append(one("a"), ANY, "p", 1, listener, clock, 1000);
        assertThat(heard).isEmpty();
        durability.completeAll();
        assertThat(heard).containsExactly("1+1", "dup 1+1");
        s.append(one("a"), ANY, "p", 1, listener, clock, 1000);
        assertThat(heard).as("visible now: answered at once").containsExactly("1+1", "dup 1+1", "dup 1+1");
        assertThat(s.lastSequence()).isEqualTo(1);
    }

    @Test
    void aLaggingConsumerHoldsPublishesUntilItAcknowledges() {
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), Durability.IMMEDIATE);
        s.positions(ConsumerPositions.NONE, Map.of());
        s.attachConsumer("billing", Frame.StartKind.EARLIEST, 0, 0, 2);
        s.append(one("a"), ANY, null, 0, listener, clock, 1000);
        s.append(one("b"), ANY, null, 0, listener, clock, 1000);
        s.append(one("c"), ANY, null, 0, listener, clock, 1000);
        assertThat(heard).containsExactly("1+1", "2+1");
        assertThat(s.heldPublishes()).isEqualTo(1);

        s.acknowledge("billing", 1, () -> { });
        assertThat(heard).containsExactly("1+1", "2+1", "3+1");
        assertThat(s.heldPublishes()).isZero();
        assertThat(clock.pending()).as("its deadline called off").isZero();
    }

    @Test
    void aHeldPublishTimesOutAtItsDeadlineAndNothingIsAppended() {
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), Durability.IMMEDIATE);
        s.positions(ConsumerPositions.NONE, Map.of());
        s.attachConsumer("billing", Frame.StartKind.EARLIEST, 0, 0, 1);
        s.append(one("a"), ANY, null, 0, listener, clock, 1000);
        s.append(one("b"), ANY, null, 0, listener, clock, 1000);
        clock.advance(999);
        assertThat(heard).containsExactly("1+1");
        clock.advance(1);
        assertThat(heard).containsExactly("1+1", ErrorCode.TIMEOUT + ": publish to stream 'orders' waited 1000 ms"
                + " for consumer 'billing' (lag 1, max lag 1); nothing was appended");
        assertThat(s.lastSequence()).isEqualTo(1);
        assertThat(s.gateRejected()).isEqualTo(1);
        assertThat(s.heldSeconds()).isEqualTo(1.0);
    }

    @Test
    void theConsumerReportCarriesTheGateAndConsumers() {
        Stream s = new Stream("orders", InMemoryLogs.create(0, 0), Durability.IMMEDIATE);
        s.positions(ConsumerPositions.NONE, Map.of());
        s.attachConsumer("billing", Frame.StartKind.EARLIEST, 0, 0, 1);
        s.append(one("a"), ANY, null, 0, listener, clock, 1000);
        s.append(one("b"), ANY, null, 0, listener, clock, 1000);
        Stream.ConsumerReport r = s.consumerReport();
        assertThat(r.lastSequence()).isEqualTo(1);
        assertThat(r.heldPublishes()).isEqualTo(1);
        assertThat(r.consumers()).containsExactly(new ConsumerStates.Snapshot("billing", 0, 1, true));
    }
}
