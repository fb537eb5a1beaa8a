package dev.wirebus.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArgumentConvertersTest {

    @Test
    void durationsTakeMillisecondsSecondsMinutesAndHours() {
        assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(DurationConverter.parse("10s")).isEqualTo(Duration.ofSeconds(10));
        assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(DurationConverter.parse("1h")).isEqualTo(Duration.ofHours(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"10", "0s", "-1s", "1.5s", "10 s", "s", "10d", ""})
    void durationsWithoutAUnitOrNotPositiveAreRefused(String text) {
        assertThatThrownBy(() -> DurationConverter.parse(text)).isInstanceOf(TypeConversionException.class);
    }

    @Test
    void hostPortTakesNamesIpv4AndBracketedIpv6() {
        assertThat(HostPort.parse("127.0.0.1:7440").uri()).isEqualTo("tcp://127.0.0.1:7440");
        assertThat(HostPort.parse("localhost:0")).isEqualTo(new HostPort("localhost", 0));
        assertThat(HostPort.parse("[::1]:7440").uri()).isEqualTo("tcp://[::1]:7440");
    }

    @ParameterizedTest
    @ValueSource(strings = {"7440", "host", ":7440", "::1:7440", "h:65536", "h:-1", "h:port"})
    void hostPortWithoutAHostOrAValidPortIsRefused(String text) {
        assertThatThrownBy(() -> HostPort.parse(text)).isInstanceOf(TypeConversionException.class);
    }
}
