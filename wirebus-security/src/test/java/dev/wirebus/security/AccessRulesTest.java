package dev.wirebus.security;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AccessRulesTest {
    private final AccessRules rules = AccessRules.of(Map.of(
            "committer", Permissions.builder().allow(Operation.PUBLISH, "blocks")
                    .allow(Operation.RESPOND, "state.*").build(),
            "observer", Permissions.builder().allow(Operation.READ, "blocks")
                    .allow(Operation.REQUEST, "state.*").build(),
            "anonymous", Permissions.builder().allow(Operation.READ, "public.>").build()));

    @Test
    void grantsEachPrincipalItsOwnOperationsOnly() {
        Principal committer = new Principal("committer", Principal.TOKEN);
        Principal observer = new Principal("observer", Principal.PEER);
        assertThat(rules.allows(committer, Operation.PUBLISH, "blocks")).isTrue();
        assertThat(rules.allows(committer, Operation.READ, "blocks")).isFalse();
        assertThat(rules.allows(committer, Operation.RESPOND, "state.epoch")).isTrue();
        assertThat(rules.allows(committer, Operation.REQUEST, "state.epoch")).isFalse();
        assertThat(rules.allows(observer, Operation.READ, "blocks")).isTrue();
        assertThat(rules.allows(observer, Operation.PUBLISH, "blocks")).isFalse();
        assertThat(rules.allows(observer, Operation.RESPOND, "state.epoch")).isFalse();
        assertThat(rules.allows(observer, Operation.REQUEST, "state.epoch")).isTrue();
    }

    @Test
    void unknownNamesGetOnlyWhatTheirCredentialCarried() {
        Principal stranger = new Principal("stranger", Principal.TOKEN);
        assertThat(rules.allows(stranger, Operation.READ, "blocks")).isFalse();
        Principal browser = new Principal("browser-1", Principal.JWT,
                Permissions.builder().allow(Operation.READ, "chat.session-1").build());
        assertThat(rules.allows(browser, Operation.READ, "chat.session-1")).isTrue();
        assertThat(rules.allows(browser, Operation.READ, "chat.session-2")).isFalse();
        assertThat(rules.allows(browser, Operation.PUBLISH, "chat.session-1")).isFalse();
    }

    @Test
    void anonymousGetsWhatIsConfiguredForTheNameAnonymous() {
        assertThat(rules.allows(Principal.ANONYMOUS, Operation.READ, "public.news")).isTrue();
        assertThat(rules.allows(Principal.ANONYMOUS, Operation.READ, "blocks")).isFalse();
        assertThat(AccessRules.of(Map.of()).allows(Principal.ANONYMOUS, Operation.READ, "x")).isFalse();
    }

    @Test
    void unionAllowsWhatEitherAllows() {
        Permissions a = Permissions.builder().allow(Operation.READ, "a").build();
        Permissions b = Permissions.builder().allow(Operation.READ, "b.*").allow(Operation.ADMIN, ">").build();
        Permissions u = a.union(b);
        assertThat(u.allows(Operation.READ, "a")).isTrue();
        assertThat(u.allows(Operation.READ, "b.c")).isTrue();
        assertThat(u.allows(Operation.ADMIN, "z")).isTrue();
        assertThat(u.allows(Operation.PUBLISH, "a")).isFalse();
        assertThat(Permissions.NONE.union(a)).isSameAs(a);
    }
}
