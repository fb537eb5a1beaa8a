package dev.wirebus.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The module boundaries, checked on the compiled main classes of every module (CONTRIBUTING.md,
 * "Boundaries", says why this and not module-info.java): a module's {@code internal} packages are
 * used by that module only, the gateway stands on the public client API alone, and the client knows
 * nothing of the server.
 */
class ModuleBoundariesTest {
    private static final String[] MODULES = {"wirebus-protocol", "wirebus-security", "wirebus-client",
            "wirebus-server", "wirebus-store-redis", "wirebus-testing/mock-broker", "wirebus-testing",
            "wirebus-gateway", "wirebus-cli", "wirebus-conformance-driver", "bench"};

    /**
     * The broker's storage plug-in interface, which store modules (dev.wirebus.store..) implement:
     * it lives in the server's internal package because only stores shipped with wirebus implement
     * it; no other server internal is theirs to use.
     */
    private static final String[] STORAGE_SPI = {"StreamStorage", "StreamLog", "StreamLog$Slice",
            "SharedStreamLog", "ConsumerPositions", "ConsumerPositions$Saved", "ProducerTable",
            "ProducerTable$Entry", "ProducerCheck", "SliceCollector", "StorageHealth", "BrokerException",
            "Stream$AppendListener", "StreamRegistry", "storage.GroupCommitter"};

    private static JavaClasses classes;

    @BeforeAll
    static void importModules() {
        Path root = Path.of(System.getProperty("wirebus.root", ".."));
        List<Path> dirs = new ArrayList<>();
        for (String m : MODULES) {
            Path dir = root.resolve(m).resolve("target/classes");
            assertThat(dir).as("classes of %s (build it first: ./mvnw -B verify, or -pl architecture-tests -am)", m)
                    .isDirectory();
            dirs.add(dir);
        }
        classes = new ClassFileImporter().importPaths(dirs);
        assertThat(classes.contain("dev.wirebus.server.Broker")).isTrue();
        assertThat(classes.contain("dev.wirebus.gateway.Gateway")).isTrue();
    }

    private static void internalOnlyWithin(String module) {
        ArchRule rule = noClasses().that().resideOutsideOfPackage("dev.wirebus." + module + "..")
                // stores implement the server's storage interface: storesUseOnlyTheServersStorageInterface
                .and().resideOutsideOfPackage(module.equals("server") ? "dev.wirebus.store.." : "dev.wirebus." + module + "..")
                .should().dependOnClassesThat().resideInAPackage("dev.wirebus." + module + ".internal..")
                .because("dev.wirebus." + module + ".internal is the " + module
                        + " module's implementation; other modules use its public API");
        rule.check(classes);
    }

    @Test
    void theServersInternalsAreUsedByTheServerOnly() {
        internalOnlyWithin("server");
    }

    @Test
    void storesUseOnlyTheServersStorageInterface() {
        java.util.Set<String> spi = java.util.Arrays.stream(STORAGE_SPI)
                .map(n -> "dev.wirebus.server.internal." + n).collect(java.util.stream.Collectors.toSet());
        noClasses().that().resideInAPackage("dev.wirebus.store..")
                .should().dependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "server internals outside the storage interface",
                        (com.tngtech.archunit.core.domain.JavaClass c) ->
                                c.getPackageName().startsWith("dev.wirebus.server.internal")
                                        && !spi.contains(c.getName())))
                .because("a store plugs into the broker through StreamStorage/StreamLog and their types only")
                .check(classes);
    }

    @Test
    void theClientsInternalsAreUsedByTheClientOnly() {
        internalOnlyWithin("client");
    }

    @Test
    void theGatewaysInternalsAreUsedByTheGatewayOnly() {
        internalOnlyWithin("gateway");
    }

    @Test
    void theGatewayStandsOnThePublicClientApiAlone() {
        noClasses().that().resideInAPackage("dev.wirebus.gateway..")
                .should().dependOnClassesThat().resideInAPackage("dev.wirebus.server..")
                .because("the gateway runs in `wirebus serve` or as its own process, over a WirebusClient")
                .check(classes);
    }

    @Test
    void theClientKnowsNothingOfTheServer() {
        noClasses().that().resideInAPackage("dev.wirebus.client..")
                .should().dependOnClassesThat().resideInAPackage("dev.wirebus.server..")
                .check(classes);
    }

    @Test
    void theProtocolDependsOnNoOtherModule() {
        noClasses().that().resideInAPackage("dev.wirebus.protocol..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.wirebus.client..", "dev.wirebus.server..",
                        "dev.wirebus.gateway..", "dev.wirebus.security..")
                .check(classes);
    }

    @Test
    void everyModulesClassesWereFound() throws Exception {
        for (String m : MODULES) {
            try (var files = Files.walk(Path.of(System.getProperty("wirebus.root", "..")).resolve(m)
                    .resolve("target/classes"))) {
                assertThat(files.anyMatch(p -> p.toString().endsWith(".class"))).as(m).isTrue();
            }
        }
    }
}
