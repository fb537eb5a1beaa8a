package dev.wirebus.security;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ResourcePatternTest {

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
            "blocks, blocks, true",
            "blocks, blocks2, false",
            "blocks, block, false",
            "blocks, blocks.x, false",
            "state.*, state.epoch, true",
            "state.*, state, false",
            "state.*, state., false",
            "state.*, state.epoch.x, false",
            "state.*, stateX.epoch, false",
            "state.>, state.epoch, true",
            "state.>, state.epoch.x.y, true",
            "state.>, state, false",
            "state.>, state., false",
            ">, anything, true",
            ">, a.b.c, true",
            "*, blocks, true",
            "*, a.b, false",
            "chat.session-*, chat.session-42, true",
            "chat.session-*, chat.session-, true",
            "chat.session-*, chat.session, false",
            "chat.session-*, chat.session-42.x, false",
            "chat.session-*, chat.other-42, false",
            "chat.*.in, chat.s1.in, true",
            "chat.*.in, chat.s1.out, false",
            "chat.*.in, chat.s1.in.x, false",
            "a.*.>, a.b.c, true",
            "a.*.>, a.b, false",
    })
    void matchesTokenByToken(String pattern, String name, boolean expected) {
        assertThat(ResourcePattern.parse(pattern).matches(name)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a..b", ".a", "a.", "a.>.b", "a>", "a.b>", "a*b", "*a", "a.**"})
    void refusesMalformedPatterns(String pattern) {
        assertThatThrownBy(() -> ResourcePattern.parse(pattern)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void knowsLiteralPatterns() {
        assertThat(ResourcePattern.parse("blocks.main").isLiteral()).isTrue();
        assertThat(ResourcePattern.parse("blocks.*").isLiteral()).isFalse();
        assertThat(ResourcePattern.parse("s-*").isLiteral()).isFalse();
    }
}
