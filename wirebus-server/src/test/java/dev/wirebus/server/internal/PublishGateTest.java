package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.RecordBatch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PublishGateTest {
    /** A lag rule the test sets: allows while {@code open}. */
    private static final class Switch implements LagLimit {
        boolean open;

        @Override
        public boolean allows(long lastSequence, int count) {
            return open;
        }

        @Override
        public String describe(long lastSequence) {
            return open ? "" : "consumer 'slow' (lag 9, max lag 9)";
        }
    }

    private final Switch lag = new Switch();
    private final ManualClock clock = new ManualClock();
    private final List<PublishGate.Held> deadlines = new ArrayList<>();

    private static PublishGate.Held publish(String payload, long maxWaitMillis) {
        return new PublishGate.Held(RecordBatch.of(payload.getBytes()), 0, null, 0, (f, c, e) -> { },
                maxWaitMillis);
    }

    @Test
    void holdsWhileTheLagRuleRefusesAndQueuesLaterPublishesBehindHeldOnes() {
        PublishGate gate = new PublishGate("orders", lag);
        lag.open = true;
        assertThat(gate.mustHold(10, 1)).isFalse();
        lag.open = false;
        assertThat(gate.mustHold(10, 1)).isTrue();
        gate.hold(publish("a", 1000), 10, clock, deadlines::add);
        lag.open = true;
        assertThat(gate.mustHold(10, 1)).as("behind a held publish, in arrival order").isTrue();
    }

    @Test
    void releasesInArrivalOrderAndCallsTheDeadlinesOff() {
        PublishGate gate = new PublishGate("orders", lag);
        PublishGate.Held a = publish("a", 1000);
        PublishGate.Held b = publish("b", 1000);
        gate.hold(a, 10, clock, deadlines::add);
        gate.hold(b, 10, clock, deadlines::add);
        assertThat(gate.held()).isEqualTo(2);
        assertThat(gate.release()).isSameAs(a);
        assertThat(gate.first()).isSameAs(b);
        assertThat(gate.release()).isSameAs(b);
        assertThat(clock.pending()).isZero();
        clock.advance(5000);
        assertThat(deadlines).isEmpty();
        assertThat(gate.rejected()).isZero();
    }

    @Test
    void aDeadlineFiresOnlyOnceItsWaitHasPassed() {
        PublishGate gate = new PublishGate("orders", lag);
        PublishGate.Held a = publish("a", 500);
        gate.hold(a, 10, clock, deadlines::add);
        clock.advance(499);
        assertThat(deadlines).isEmpty();
        clock.advance(1);
        assertThat(deadlines).containsExactly(a);
        assertThat(gate.expire(a)).isTrue();
        assertThat(gate.held()).isZero();
        assertThat(gate.rejected()).isEqualTo(1);
        assertThat(gate.expire(a)).as("a second expiry").isFalse();
    }

    @Test
    void timeHeldIsSummedOnTheInjectedClock() {
        PublishGate gate = new PublishGate("orders", lag);
        gate.hold(publish("a", 10_000), 10, clock, deadlines::add);
        clock.advance(250);
        gate.release();
        PublishGate.Held b = publish("b", 100);
        gate.hold(b, 10, clock, deadlines::add);
        clock.advance(100);
        gate.expire(b);
        assertThat(gate.heldNanos()).isEqualTo(350_000_000L);
    }

    @Test
    void aFullGateRefusesWithBackpressureNamingWhatItWaitsFor() {
        PublishGate gate = new PublishGate("orders", lag, 2, 1 << 20);
        gate.hold(publish("a", 1000), 10, clock, deadlines::add);
        gate.hold(publish("b", 1000), 10, clock, deadlines::add);
        assertThatThrownBy(() -> gate.hold(publish("c", 1000), 10, clock, deadlines::add))
                .isInstanceOfSatisfying(BrokerException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BACKPRESSURE))
                .hasMessage("stream 'orders' holds 2 publishes (10 bytes) waiting for consumer 'slow' (lag 9, max lag 9)");
        assertThat(gate.held()).isEqualTo(2);
        assertThat(gate.rejected()).isEqualTo(1);
    }

    @Test
    void theByteLimitCountsTheHeldRecords() {
        PublishGate gate = new PublishGate("orders", lag, 100, 10);
        gate.hold(publish("a", 1000), 10, clock, deadlines::add); // 4-byte length + 1 byte
        gate.hold(publish("b", 1000), 10, clock, deadlines::add);
        assertThat(gate.heldBytes()).isEqualTo(10);
        assertThatThrownBy(() -> gate.hold(publish("c", 1000), 10, clock, deadlines::add))
                .isInstanceOf(BrokerException.class);
        gate.release();
        assertThat(gate.heldBytes()).isEqualTo(5);
        gate.hold(publish("c", 1000), 10, clock, deadlines::add);
    }
}
