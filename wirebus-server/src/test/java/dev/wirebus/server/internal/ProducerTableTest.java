package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProducerTableTest {
    @Test
    void aNewProducerSequenceIsNewAndARepeatIsAnsweredWithWhereItLanded() {
        ProducerTable t = new ProducerTable();
        assertThat(t.check("s", "p", 1)).isNull();
        t.record("p", 1, 10, 3);
        assertThat(t.check("s", "p", 1)).isEqualTo(new ProducerTable.Appended(10, 3));
        assertThat(t.check("s", "p", 2)).isNull();
        assertThat(t.check("s", "other", 1)).isNull();
    }

    @Test
    void aSequenceBelowTheLastThatWasNeverAppendedIsOutOfOrder() {
        ProducerTable t = new ProducerTable();
        t.record("p", 1, 1, 1);
        t.record("p", 3, 2, 1);
        assertThatThrownBy(() -> t.check("s", "p", 2))
                .isInstanceOfSatisfying(BrokerException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE))
                .hasMessageContaining("producer sequence 2 was never appended and is below the last one, 3");
    }

    @Test
    void onlyTheLastBatchesAreRemembered() {
        ProducerTable t = new ProducerTable();
        for (int i = 1; i <= ProducerTable.REMEMBERED_BATCHES + 1; i++) {
            t.record("p", i, i, 1);
        }
        assertThat(t.check("s", "p", 2)).isEqualTo(new ProducerTable.Appended(2, 1));
        assertThatThrownBy(() -> t.check("s", "p", 1)).hasMessageContaining("older than the last 32 batches");
    }

    @Test
    void theLeastRecentlyAppendingProducerIsForgottenFirst() {
        ProducerTable t = new ProducerTable(2);
        t.record("a", 1, 1, 1);
        t.record("b", 1, 2, 1);
        t.check("s", "a", 1); // a is used again
        t.record("c", 1, 3, 1);
        assertThat(t.size()).isEqualTo(2);
        assertThat(t.check("s", "b", 1)).as("forgotten").isNull();
        assertThat(t.check("s", "a", 1)).isNotNull();
    }

    @Test
    void aWrittenTableReadsBackTheSame() throws IOException {
        ProducerTable t = new ProducerTable();
        t.record("p", 1, 1, 2);
        t.record("p", 2, 3, 1);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        t.writeTo(new DataOutputStream(bytes));
        ProducerTable read = new ProducerTable();
        read.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        assertThat(read.check("s", "p", 1)).isEqualTo(new ProducerTable.Appended(1, 2));
        assertThat(read.check("s", "p", 2)).isEqualTo(new ProducerTable.Appended(3, 1));
        assertThat(read.check("s", "p", 3)).isNull();
    }
}
