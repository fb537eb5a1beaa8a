package dev.wirebus.systemtests;

import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The broker's meters, read as a Prometheus scrape (what the gateway serves at /metrics). */
class MetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static WirebusClient connect(EmbeddedBroker broker, String name) {
        return broker.client(EmbeddedBroker.Transport.UNIX).name(name).connect();
    }

    /** The value of one series of the scrape, or null when the scrape does not have it. */
    private static Double value(String scrape, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(scrape);
        return m.find() ? Double.valueOf(m.group(1)) : null;
    }

    @Test
    void aScrapeShowsPublishesDeliveriesConsumerLagErrorsAndRequests() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.meterRegistry(registry));
             WirebusClient producer = connect(broker, "producer");
             WirebusClient executor = connect(broker, "executor");
             WirebusClient watcher = connect(broker, "watcher");
             RawConnection deaf = RawConnection.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            for (int i = 1; i <= 100; i++) {
                producer.publish("blocks", utf8("block-" + i), i).get(10, TimeUnit.SECONDS);
            }
            // a producer that lost track: refused with SEQUENCE_MISMATCH, nothing appended
            assertThatThrownBy(() -> producer.publish("blocks", utf8("stale"), 5).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.SEQUENCE_MISMATCH);
            // an idempotent producer retries its batch: appended once, the retry answered as a duplicate
            PublishOptions once = PublishOptions.builder().producer("orders-1", 1).build();
            PublishAck first = producer.publishBatch("orders", List.of(utf8("a"), utf8("b")), once).get(10, TimeUnit.SECONDS);
            PublishAck retry = producer.publishBatch("orders", List.of(utf8("a"), utf8("b")), once).get(10, TimeUnit.SECONDS);
            assertThat(retry.firstSequence()).isEqualTo(first.firstSequence());

            // a durable consumer that handled 60 of 100 blocks, and a plain subscriber that saw all
            List<Message> executed = new CopyOnWriteArrayList<>();
            Subscription consumer = executor.subscribe("blocks", SubscribeOptions.builder()
                    .start(StartPosition.sequence(1)).consumer("executor")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).build(), executed::add);
            List<Message> watched = new CopyOnWriteArrayList<>();
            watcher.subscribe("blocks", StartPosition.sequence(1), watched::add);
            await().atMost(WAIT).until(() -> executed.size() == 100 && watched.size() == 100);
            consumer.ack(60).get(10, TimeUnit.SECONDS);

            // requests: one answered, one with nobody to answer, one that times out at a deaf responder
            executor.respond("state.epoch", r -> utf8("42")).get(10, TimeUnit.SECONDS);
            assertThat(watcher.request("state.epoch", new byte[0], WAIT).get(10, TimeUnit.SECONDS))
                    .isEqualTo(utf8("42"));
            assertThatThrownBy(() -> watcher.request("state.nobody", new byte[0], WAIT).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            deaf.send(new Frame.RespondOn(2, "state.deaf"));
            assertThat(deaf.read(WAIT)).isInstanceOf(Frame.Ok.class);
            CompletableFuture<byte[]> unanswered = watcher.request("state.deaf", new byte[0], Duration.ofMillis(200));
            assertThatThrownBy(() -> unanswered.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);

            // the broker's timer ends the deaf request; the client may have given up a moment before
            await().atMost(WAIT).untilAsserted(() -> assertThat(registry.scrape())
                    .contains("wirebus_requests_total{outcome=\"timeout\"} 1.0"));
            String scrape = registry.scrape();
            assertThat(scrape).contains(
                    "wirebus_messages_published_total{kind=\"plain\"} 100.0",
                    "wirebus_messages_published_total{kind=\"idempotent\"} 2.0",
                    "wirebus_publishes_duplicate_total 1.0",
                    "wirebus_messages_delivered_total 200.0",
                    "wirebus_stream_last_sequence{stream=\"blocks\"} 100.0",
                    "wirebus_stream_last_sequence{stream=\"orders\"} 2.0",
                    "wirebus_stream_subscribers{stream=\"blocks\"} 2.0",
                    "wirebus_consumer_lag{consumer=\"executor\",stream=\"blocks\"} 40.0",
                    "wirebus_consumer_acked_sequence{consumer=\"executor\",stream=\"blocks\"} 60.0",
                    "wirebus_errors_total{code=\"SEQUENCE_MISMATCH\"} 1.0",
                    "wirebus_errors_total{code=\"NO_RESPONDERS\"} 1.0",
                    "wirebus_errors_total{code=\"TIMEOUT\"} 1.0",
                    "wirebus_errors_total{code=\"BACKPRESSURE\"} 0.0",
                    "wirebus_requests_total{outcome=\"answered\"} 1.0",
                    "wirebus_requests_total{outcome=\"no_responders\"} 1.0",
                    "wirebus_requests_total{outcome=\"timeout\"} 1.0",
                    "wirebus_connections 4.0",
                    "wirebus_connections_opened_total 4.0",
                    "wirebus_stream_publishes_held{stream=\"blocks\"} 0.0",
                    "wirebus_stream_publishes_gate_rejected_total{stream=\"blocks\"} 0.0");
            // every acknowledged publish (100 + the batch + its duplicate) is in the latency histogram
            assertThat(value(scrape, "wirebus_publish_latency_seconds_count")).isEqualTo(102.0);
            assertThat(value(scrape, "wirebus_publish_latency_seconds_bucket{le=\"+Inf\"}")).isEqualTo(102.0);
            assertThat(scrape).as("buckets from 10 µs: acks from memory take tens of µs")
                    .contains("wirebus_publish_latency_seconds_bucket{le=\"1.0E-5\"} ");
            assertThat(value(scrape, "wirebus_request_latency_seconds_count")).isEqualTo(1.0);
            assertThat(scrape).containsPattern("wirebus_request_latency_seconds_bucket\\{le=\"[0-9.]+\"} 1");

            // a consumer that catches up has no lag; a stream's subscribers go as they close
            consumer.ack(100).get(10, TimeUnit.SECONDS);
            consumer.close();
            await().atMost(WAIT).untilAsserted(() -> assertThat(registry.scrape()).contains(
                    "wirebus_consumer_lag{consumer=\"executor\",stream=\"blocks\"} 0.0",
                    "wirebus_stream_subscribers{stream=\"blocks\"} 1.0"));
        }
        assertThat(registry.getMeters()).as("a closed broker leaves no meters behind").isEmpty();
    }

    @Test
    void aGatingConsumerShowsHeldAndRejectedPublishes() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.meterRegistry(registry)
                     .publishWait(Duration.ofMillis(300)));
             WirebusClient producer = connect(broker, "producer");
             WirebusClient executor = connect(broker, "executor")) {
            Subscription gate = executor.subscribe("blocks", SubscribeOptions.builder()
                    .start(StartPosition.sequence(1)).consumer("executor")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(10).build(), m -> { });
            gate.started().get(10, TimeUnit.SECONDS);
            for (int i = 1; i <= 10; i++) {
                producer.publish("blocks", utf8("block-" + i)).get(10, TimeUnit.SECONDS);
            }
            CompletableFuture<Long> held = producer.publish("blocks", utf8("block-11")).thenApply(dev.wirebus.client.PublishAck::firstSequence);
            await().atMost(WAIT).untilAsserted(() -> assertThat(registry.scrape())
                    .contains("wirebus_stream_publishes_held{stream=\"blocks\"} 1.0"));
            assertThatThrownBy(() -> held.get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(WirebusTimeoutException.class).hasMessageContaining("nothing was appended");

            String scrape = registry.scrape();
            assertThat(scrape).contains(
                    "wirebus_stream_publishes_held{stream=\"blocks\"} 0.0",
                    "wirebus_stream_publishes_gate_rejected_total{stream=\"blocks\"} 1.0",
                    "wirebus_consumer_lag{consumer=\"executor\",stream=\"blocks\"} 10.0",
                    "wirebus_errors_total{code=\"TIMEOUT\"} 1.0",
                    "wirebus_messages_published_total{kind=\"plain\"} 10.0");
            assertThat(value(scrape, "wirebus_stream_publishes_held_time_seconds_total{stream=\"blocks\"}"))
                    .isBetween(0.3, 5.0);
        }
    }

    @Test
    void aDiskBrokerCountsItsFsyncs(@TempDir Path data) throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        BrokerConfig config = BrokerConfig.builder().unixSocket(dir.resolve("w.sock"))
                .storage(BrokerConfig.Storage.DISK).dataDirectory(data)
                .durability(BrokerConfig.Durability.ALWAYS).meterRegistry(registry).build();
        try (Broker broker = Broker.start(config);
             WirebusClient client = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            for (int i = 1; i <= 20; i++) {
                client.publish("blocks", utf8("block-" + i)).get(10, TimeUnit.SECONDS);
            }
            String scrape = registry.scrape();
            // every acknowledged publish waited for an fsync of its own (each awaited before the next)
            assertThat(value(scrape, "wirebus_storage_fsyncs_total")).isGreaterThanOrEqualTo(20.0);
            assertThat(value(scrape, "wirebus_storage_fsync_latency_seconds_count")).isGreaterThanOrEqualTo(20.0);
            assertThat(value(scrape, "wirebus_publish_latency_seconds_count")).isEqualTo(20.0);
            assertThat(scrape).contains("wirebus_messages_published_total{kind=\"plain\"} 20.0");
        }
        assertThat(registry.getMeters()).isEmpty();
    }
}
