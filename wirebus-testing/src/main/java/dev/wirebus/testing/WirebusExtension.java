package dev.wirebus.testing;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that starts an {@link EmbeddedBroker} for each test that asks for one as a
 * parameter, and closes it after the test.
 *
 * <pre>{@code
 * @ExtendWith(WirebusExtension.class)
 * class OrdersTest {
 *     @Test
 *     void publishesOrders(EmbeddedBroker broker) {
 *         try (WirebusClient c = broker.client(EmbeddedBroker.Transport.UNIX).connect()) { ... }
 *     }
 * }
 * }</pre>
 */
public final class WirebusExtension implements ParameterResolver, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(WirebusExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == EmbeddedBroker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return e.getStore(NS).getOrComputeIfAbsent("broker", k -> EmbeddedBroker.start(), EmbeddedBroker.class);
    }

    @Override
    public void afterEach(ExtensionContext e) {
        EmbeddedBroker b = e.getStore(NS).remove("broker", EmbeddedBroker.class);
        if (b != null) {
            b.close();
        }
    }
}
