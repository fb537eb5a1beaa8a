package dev.wirebus.server.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class VisibilityTest {
    private final List<String> woken = new ArrayList<>();

    private Stream.Waiter waiter(String name) {
        return new Stream.Waiter() {
            @Override
            protected void wake() {
                woken.add(name);
            }
        };
    }

    @Test
    void recordsBelowTheEndAreVisibleAndTheEndNeverMovesBack() {
        Visibility v = new Visibility(5);
        assertThat(v.isVisible(4)).isTrue();
        assertThat(v.isVisible(5)).isFalse();
        v.advance(8);
        assertThat(v.next()).isEqualTo(8);
        v.advance(6);
        assertThat(v.next()).isEqualTo(8);
    }

    @Test
    void advancingWakesEachWaiterOnceAndThenForgetsIt() {
        Visibility v = new Visibility(1);
        Stream.Waiter a = waiter("a");
        v.await(a);
        v.await(a);
        v.await(waiter("b"));
        Visibility.wake(v.advance(2));
        assertThat(woken).containsExactly("a", "b");
        Visibility.wake(v.advance(3));
        assertThat(woken).as("not registered again").hasSize(2);
        v.await(a);
        Visibility.wake(v.advance(4));
        assertThat(woken).containsExactly("a", "b", "a");
    }

    @Test
    void aForgottenWaiterIsNotWoken() {
        Visibility v = new Visibility(1);
        Stream.Waiter a = waiter("a");
        v.await(a);
        v.forget(a);
        assertThat(v.advance(2)).isNull();
        assertThat(woken).isEmpty();
    }
}
