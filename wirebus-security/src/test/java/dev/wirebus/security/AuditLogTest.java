package dev.wirebus.security;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AuditLogTest {
    @Test
    void writesAtMostTheRateAndCountsTheRest() {
        AuditLog audit = new AuditLog(3);
        Principal p = new Principal("observer", Principal.TOKEN);
        // a burst within one second (or across a second boundary: then at most 6 pass)
        for (int i = 0; i < 100; i++) {
            audit.denied(p, Operation.PUBLISH, "blocks", "test");
        }
        assertThat(audit.suppressed()).isBetween(94L, 97L);
    }
}
