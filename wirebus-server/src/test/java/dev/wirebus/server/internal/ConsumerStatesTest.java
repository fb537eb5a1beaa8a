package dev.wirebus.server.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ConsumerStatesTest {
    /** Positions saved, as "consumer acked maxLag". */
    private final List<String> saved = new ArrayList<>();
    private final ConsumerPositions positions = new ConsumerPositions() {
        @Override
        public Map<String, Saved> load(String stream) {
            return Map.of();
        }

        @Override
        public void save(String stream, String consumer, long acked, int maxLag, Runnable onStored) {
            saved.add(consumer + " " + acked + " " + maxLag);
            onStored.run();
        }
    };

    private ConsumerStates states() {
        ConsumerStates s = new ConsumerStates("orders");
        s.load(positions, Map.of());
        return s;
    }

    @Test
    void acknowledgementsMoveForwardOnlyAndAreSaved() {
        ConsumerStates s = states();
        s.add("billing", 0, 0);
        List<Runnable> after = new ArrayList<>();
        assertThat(s.acknowledge("billing", 5, () -> { }, after)).isTrue();
        assertThat(s.acknowledge("billing", 3, () -> { }, after)).as("backwards").isFalse();
        assertThat(after).as("answered at once when nothing moved").hasSize(1);
        assertThat(s.acked("billing")).isEqualTo(5);
        assertThat(saved).containsExactly("billing 0 0", "billing 5 0");
        assertThat(s.acknowledge("nobody", 3, () -> { }, after)).isFalse();
    }

    @Test
    void aGatingConsumerAllowsRecordsUpToItsMaxLag() {
        ConsumerStates s = states();
        s.add("billing", 10, 5);
        assertThat(s.allows(14, 1)).isTrue();  // lag 5 after it
        assertThat(s.allows(14, 2)).isFalse(); // lag 6
        assertThat(s.allows(10, 100)).as("a consumer that is caught up never blocks").isTrue();
        assertThat(s.describe(14)).isEqualTo("consumer 'billing' (lag 4, max lag 5)");
    }

    @Test
    void aConsumerWithoutMaxLagGatesNothing() {
        ConsumerStates s = states();
        s.add("audit", 0, 0);
        assertThat(s.allows(1_000_000, 1000)).isTrue();
        assertThat(s.describe(1_000_000)).isEmpty();
    }

    @Test
    void changingTheMaxLagIsSavedOnlyWhenItChanges() {
        ConsumerStates s = states();
        ConsumerStates.State c = s.add("billing", 0, 5);
        assertThat(s.maxLag(c, 5)).isFalse();
        assertThat(s.maxLag(c, 7)).isTrue();
        assertThat(saved).containsExactly("billing 0 5", "billing 0 7");
    }

    @Test
    void snapshotsReportConnectionAndLag() {
        ConsumerStates s = states();
        ConsumerStates.State c = s.add("billing", 3, 0);
        c.connected++;
        s.add("audit", 1, 2);
        assertThat(s.snapshot()).containsExactly(new ConsumerStates.Snapshot("billing", 3, 0, true),
                new ConsumerStates.Snapshot("audit", 1, 2, false));
        s.detach("billing");
        assertThat(s.snapshot().get(0).connected()).isFalse();
        assertThat(s.lag("billing", 10)).isEqualTo(7);
        assertThat(s.lag("nobody", 10)).isNaN();
    }

    @Test
    void movingToAStoreKeepsKnownConsumersAndSavesThemAll() {
        ConsumerStates s = new ConsumerStates("orders");
        s.add("billing", 4, 0);
        s.moveTo(positions, Map.of("billing", new ConsumerPositions.Saved(1, 0),
                "audit", new ConsumerPositions.Saved(2, 0)));
        assertThat(s.acked("billing")).isEqualTo(4);
        assertThat(s.acked("audit")).isEqualTo(2);
        assertThat(saved).containsExactlyInAnyOrder("billing 4 0", "audit 2 0");
    }
}
