package dev.wirebus.client.internal;

import dev.wirebus.client.Message;
import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.Subscription;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.Held;
import dev.wirebus.testing.mockbroker.MockBroker;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static dev.wirebus.client.internal.TestClients.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The subscriptions part: confirm, deliver in order, resume after a reconnect, end, unsubscribe. */
class SubscriptionsTest {

    private static Action subscribed(long start) {
        return Action.answer(f -> new Frame.Subscribed(f.requestId(), ((Frame.Subscribe) f).subscriptionId(), start));
    }

    private static Frame.Deliver deliver(Frame.Subscribe s, long first, String... payloads) {
        List<byte[]> bytes = java.util.Arrays.stream(payloads).map(p -> p.getBytes(StandardCharsets.UTF_8)).toList();
        return new Frame.Deliver(0, s.subscriptionId(), s.stream(), first, RecordBatch.of(bytes));
    }

    @Test
    void afterAReconnectTheSubscriptionResumesAtTheSequenceAfterTheLastReceived() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.SUBSCRIBE, Action.answer(f -> {
                Frame.Subscribe s = (Frame.Subscribe) f;
                return new Frame.Subscribed(f.requestId(), s.subscriptionId(), s.startSequence() == 0 ? 1 : s.startSequence());
            }));
            List<Message> got = new CopyOnWriteArrayList<>();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Subscription sub = c.subscribe("blocks", StartPosition.earliest(), got::add);
                Frame.Subscribe first = broker.takeFrame(Frame.Subscribe.class, WAIT);
                assertThat(first.startKind()).isEqualTo(Frame.StartKind.EARLIEST);
                assertThat(sub.started().get(10, TimeUnit.SECONDS)).isEqualTo(1);
                broker.send(deliver(first, 1, "a", "b", "c"));
                await().atMost(WAIT).until(() -> got.size() == 3);
                broker.dropConnections();
                Frame.Subscribe again = broker.takeFrameSkipping(Frame.Subscribe.class, WAIT);
                assertThat(again.startKind()).isEqualTo(Frame.StartKind.SEQUENCE);
                assertThat(again.startSequence()).isEqualTo(4);
                assertThat(again.subscriptionId()).isEqualTo(first.subscriptionId());
                broker.send(deliver(again, 4, "d"));
                await().atMost(WAIT).until(() -> got.size() == 4);
                assertThat(got).extracting(Message::sequence).containsExactly(1L, 2L, 3L, 4L);
            }
        }
    }

    @Test
    void aDeliveryWithAGapIsNeverHandedToTheHandlerAndForcesAResume() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.Recorder events = new TestClients.Recorder();
            broker.answerAlways(FrameType.SUBSCRIBE, Action.answer(f -> {
                Frame.Subscribe s = (Frame.Subscribe) f;
                return new Frame.Subscribed(f.requestId(), s.subscriptionId(), s.startSequence() == 0 ? 1 : s.startSequence());
            }));
            List<Message> got = new CopyOnWriteArrayList<>();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events).connect()) {
                c.subscribe("blocks", StartPosition.earliest(), got::add).started().get(10, TimeUnit.SECONDS);
                Frame.Subscribe first = broker.takeFrame(Frame.Subscribe.class, WAIT);
                broker.send(deliver(first, 1, "a"));
                broker.send(deliver(first, 3, "c")); // 2 is missing
                Frame.Subscribe again = broker.takeFrameSkipping(Frame.Subscribe.class, WAIT);
                assertThat(again.startSequence()).isEqualTo(2);
                assertThat(got).extracting(Message::sequence).containsExactly(1L);
                assertThat(events.errors).anySatisfy(e -> assertThat(e).isInstanceOf(ProtocolViolationException.class)
                        .hasMessageContaining("expected sequence 2 but the broker delivered 3"));
            }
        }
    }

    @Test
    void aDeliveryOverlappingWhatWasReceivedIsNeverHandedToTheHandlerAndForcesAResume() throws Exception {
        // "after N came N" cannot come from one subscription: a repeated range is refused, not handed on
        try (MockBroker broker = MockBroker.start()) {
            TestClients.Recorder events = new TestClients.Recorder();
            broker.answerAlways(FrameType.SUBSCRIBE, Action.answer(f -> {
                Frame.Subscribe s = (Frame.Subscribe) f;
                return new Frame.Subscribed(f.requestId(), s.subscriptionId(), s.startSequence() == 0 ? 1 : s.startSequence());
            }));
            List<Message> got = new CopyOnWriteArrayList<>();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events).connect()) {
                c.subscribe("blocks", StartPosition.earliest(), got::add).started().get(10, TimeUnit.SECONDS);
                Frame.Subscribe first = broker.takeFrame(Frame.Subscribe.class, WAIT);
                broker.send(deliver(first, 1, "a", "b"));
                broker.send(deliver(first, 2, "b", "c")); // 2 again
                Frame.Subscribe again = broker.takeFrameSkipping(Frame.Subscribe.class, WAIT);
                assertThat(again.startSequence()).isEqualTo(3);
                broker.send(deliver(again, 3, "c"));
                await().atMost(WAIT).until(() -> got.size() == 3);
                assertThat(got).extracting(Message::sequence).containsExactly(1L, 2L, 3L);
                assertThat(events.errors).anySatisfy(e -> assertThat(e).isInstanceOf(ProtocolViolationException.class)
                        .hasMessageContaining("expected sequence 3 but the broker delivered 2"));
            }
        }
    }

    @Test
    void closeReturnsWhileAHandlerRunsWhichFinishesAfterwardsAndNoHandlerStartsAfterClose() throws Exception {
        // what BrokerContract's hand-resumed subscriber must allow for: how far the handler got, read
        // right after close(), misses the message whose handler is still running
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.Semaphore dispatchRunsEnded = new java.util.concurrent.Semaphore(0);
        java.util.concurrent.Executor dispatch = task -> pool.execute(() -> {
            try {
                task.run();
            } finally {
                dispatchRunsEnded.release();
            }
        });
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.SUBSCRIBE, subscribed(1));
            CountDownLatch inSecond = new CountDownLatch(1);
            CountDownLatch releaseSecond = new CountDownLatch(1);
            AtomicLong last = new AtomicLong();
            List<Long> handled = new CopyOnWriteArrayList<>();
            DefaultWirebusClient c = TestClients.options(broker.address()).dispatch(dispatch).connect();
            try {
                Subscription sub = c.subscribe("blocks", StartPosition.earliest(), m -> {
                    handled.add(m.sequence());
                    if (m.sequence() == 2) {
                        inSecond.countDown();
                        assertThat(releaseSecond.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                    }
                    last.set(m.sequence());
                });
                sub.started().get(10, TimeUnit.SECONDS);
                Frame.Subscribe s = broker.takeFrame(Frame.Subscribe.class, WAIT);
                broker.send(deliver(s, 1, "a", "b", "c"));
                assertThat(inSecond.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            } finally {
                c.close();
            }
            long readRightAfterClose = last.get();
            dispatchRunsEnded.drainPermits();
            releaseSecond.countDown();
            // the dispatch run that was handling 2 ends; nothing else was queued meanwhile
            assertThat(dispatchRunsEnded.tryAcquire(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            assertThat(readRightAfterClose).isEqualTo(1);
            assertThat(last.get()).isEqualTo(2);
            // 3 arrived before close, but its handler had not started: it never starts
            assertThat(handled).containsExactly(1L, 2L);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void closeAsyncCompletesOnlyOnceTheBrokerAnsweredTheUnsubscribe() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.SUBSCRIBE, subscribed(1));
            Held unsubscribe = broker.enqueueHeld(FrameType.UNSUBSCRIBE);
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Subscription sub = c.subscribe("blocks", StartPosition.earliest(), m -> { });
                sub.started().get(10, TimeUnit.SECONDS);
                CompletableFuture<Void> closing = sub.closeAsync();
                Frame.Unsubscribe u = (Frame.Unsubscribe) unsubscribe.frame(WAIT);
                assertThat(closing).isNotDone();
                assertThat(sub.closed()).isNotDone();
                unsubscribe.release(f -> new Frame.Ok(f.requestId()), WAIT);
                closing.get(10, TimeUnit.SECONDS);
                assertThat(sub.closed()).isCompleted();
                assertThat(u.subscriptionId()).isEqualTo(broker.takeFrame(Frame.Subscribe.class, WAIT).subscriptionId());
            }
        }
    }

    @Test
    void aBrokerThatEndsTheSubscriptionEndsItWithItsReason() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.SUBSCRIBE, subscribed(1));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Subscription sub = c.subscribe("blocks", StartPosition.earliest(), m -> { });
                sub.started().get(10, TimeUnit.SECONDS);
                Frame.Subscribe s = broker.takeFrame(Frame.Subscribe.class, WAIT);
                broker.send(new Frame.SubscriptionClosed(0, s.subscriptionId(), ErrorCode.SEQUENCE_NOT_RETAINED.code(),
                        "trimmed", dev.wirebus.protocol.ErrorFields.NONE));
                assertThatThrownBy(() -> sub.closed().get(10, TimeUnit.SECONDS)).hasMessageContaining("trimmed");
            }
        }
    }

    @Test
    void aBrokerBackWithAnotherStoreEndsSubscriptionsInsteadOfResumingThem() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.SUBSCRIBE, subscribed(1));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Subscription sub = c.subscribe("blocks", StartPosition.earliest(), m -> { });
                sub.started().get(10, TimeUnit.SECONDS);
                broker.storeId(99);
                broker.dropConnections();
                assertThatThrownBy(() -> sub.closed().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(StoreChangedException.class);
            }
        }
    }

    @Test
    void creditsGoBackAsTheHandlerFinishesHalfTheWindow() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.SUBSCRIBE, subscribed(1));
            List<Message> got = new CopyOnWriteArrayList<>();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).window(4).connect()) {
                c.subscribe("blocks", StartPosition.earliest(), got::add).started().get(10, TimeUnit.SECONDS);
                Frame.Subscribe s = broker.takeFrame(Frame.Subscribe.class, WAIT);
                assertThat(s.credits()).isEqualTo(4);
                broker.send(deliver(s, 1, "a", "b"));
                Frame.Credit credit = broker.takeFrame(Frame.Credit.class, WAIT);
                assertThat(credit.credits()).isEqualTo(2);
                assertThat(credit.subscriptionId()).isEqualTo(s.subscriptionId());
            }
        }
    }
}
