package dev.wirebus.client.internal;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The call table alone: ids, the in-flight window, deadlines on a clock moved by hand, resends. */
class CallTableTest {
    private final TestClients.ManualClock clock = new TestClients.ManualClock();
    private final CallTable table = new CallTable(2, Duration.ofSeconds(1).toNanos(), clock, () -> "tcp://peer:1",
            () -> "CONNECTED");

    private Call<Long> publish() {
        Frame f = new Frame.Publish(table.nextId(), "s", 0, new byte[1]);
        return table.newCall(f, true, () -> "PUBLISH on stream 's'", a -> ((Frame.PublishAck) a).firstSequence());
    }

    @Test
    void requestIdsAreFreshAndNeverZero() throws Exception {
        long a = table.nextId();
        long b = table.nextId();
        assertThat(a).isPositive();
        assertThat(b).isNotEqualTo(a);
    }

    @Test
    void anAnswerEndsTheCallWithItsIdAndNoOther() throws Exception {
        Call<Long> one = publish();
        Call<Long> two = publish();
        assertThat(table.admit(one)).isTrue();
        assertThat(table.admit(two)).isTrue();
        // answered out of order: each future gets its own answer
        assertThat(table.answer(new Frame.PublishAck(two.id, 20, 1, false))).isTrue();
        assertThat(table.answer(new Frame.PublishAck(one.id, 10, 1, false))).isTrue();
        assertThat(one.future.get(10, TimeUnit.SECONDS)).isEqualTo(10L);
        assertThat(two.future.get(10, TimeUnit.SECONDS)).isEqualTo(20L);
        assertThat(table.answer(new Frame.PublishAck(one.id, 99, 1, false))).as("a repeated answer").isFalse();
    }

    @Test
    void aCallBeyondTheInFlightWindowFailsAtOnceAndAnAnswerFreesASlot() throws Exception {
        Call<Long> one = publish();
        Call<Long> two = publish();
        Call<Long> three = publish();
        assertThat(table.admit(one)).isTrue();
        assertThat(table.admit(two)).isTrue();
        assertThat(table.admit(three)).isFalse();
        assertThat(three.future).isCompletedExceptionally();
        assertThatThrownBy(() -> three.future.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(BackpressureException.class)
                .hasMessageContaining("2 calls already await answers");
        table.answer(new Frame.PublishAck(one.id, 1, 1, false));
        assertThat(table.admit(publish())).isTrue();
    }

    @Test
    void aDeadlineFiresWhenTheClockPassesItAndNotBefore() throws Exception {
        Call<Long> call = publish();
        table.admit(call);
        clock.advance(Duration.ofMillis(999));
        table.sweep();
        assertThat(call.future).isNotDone();
        clock.advance(Duration.ofMillis(1));
        table.sweep();
        assertThatThrownBy(() -> call.future.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(WirebusTimeoutException.class)
                .hasMessageContaining("PUBLISH on stream 's'").hasMessageContaining("not sent: CONNECTED");
        assertThat(table.freeSlots()).as("the expired call gave its slot back").isEqualTo(2);
    }

    @Test
    void aCallWithItsOwnDeadlineExpiresOnItsOwnSchedule() throws Exception {
        Frame f = new Frame.Request(table.nextId(), "subj", 100, new byte[0]);
        Call<byte[]> request = table.newCall(f, true, () -> "REQUEST", a -> ((Frame.Response) a).payload(),
                Duration.ofMillis(100).toNanos());
        Call<Long> publish = publish();
        table.admit(publish);
        table.admit(request);
        clock.advance(Duration.ofMillis(100));
        table.sweep();
        assertThat(request.future).isCompletedExceptionally();
        assertThat(publish.future).isNotDone();
    }

    @Test
    void aLostConnectionFailsWrittenCallsAndHandsBackResendableOnesOldestFirst() throws Exception {
        Call<Long> sent = publish();
        Call<Long> idempotentA = publish();
        Call<Long> idempotentB = publish();
        Call<Long> notSent = publish();
        CallTable big = new CallTable(10, Duration.ofSeconds(1).toNanos(), clock, () -> "p", () -> "s");
        for (Call<Long> c : List.of(idempotentB, sent, idempotentA, notSent)) {
            big.admit(c);
        }
        sent.written = true;
        idempotentA.written = true;
        idempotentB.written = true;
        idempotentA.resendable = true;
        idempotentB.resendable = true;
        List<Call<?>> again = big.connectionLost("tcp://peer:1");
        assertThat(again).containsExactly(idempotentA, idempotentB);
        assertThat(again).allMatch(c -> !c.written);
        assertThatThrownBy(() -> sent.future.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(ConnectionException.class)
                .hasMessageContaining("outcome is unknown");
        assertThat(notSent.future).as("not written: waits for the next connection").isNotDone();
        assertThat(idempotentA.future).isNotDone();
    }
}
