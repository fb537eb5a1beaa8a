package dev.wirebus.store.redis;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RedisStoreSettingsTest {
    @Test
    void aPlainAddressTakesTheDefaults() {
        RedisStoreSettings s = RedisStoreSettings.parse("redis://10.0.0.5:6380");
        assertThat(s.mode()).isEqualTo(RedisStoreSettings.Mode.STANDALONE);
        assertThat(s.nodes()).containsExactly(new RedisStoreSettings.HostAndPort("10.0.0.5", 6380));
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.waitReplicas()).isZero();
        assertThat(s.prefix()).isEqualTo("wirebus");
        assertThat(s.tls()).isFalse();
        assertThat(RedisStoreSettings.parse("redis://cache").nodes().get(0).port()).isEqualTo(6379);
    }

    @Test
    void optionsPasswordDatabaseAndTlsAreRead() {
        RedisStoreSettings s = RedisStoreSettings.parse("rediss://:s3cret@redis.internal:6379/2?timeout=500ms&wait=1"
                + "&prefix=chat&cache=1024");
        assertThat(s.tls()).isTrue();
        assertThat(s.password()).isEqualTo("s3cret");
        assertThat(s.database()).isEqualTo(2);
        assertThat(s.timeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.waitReplicas()).isEqualTo(1);
        assertThat(s.prefix()).isEqualTo("chat");
        assertThat(s.cacheRecords()).isEqualTo(1024);
        assertThat(s.toString()).doesNotContain("s3cret").contains("***");
    }

    @Test
    void sentinelAndClusterTakeSeveralAddresses() {
        RedisStoreSettings sentinel = RedisStoreSettings.parse("redis-sentinel://s1,s2:26380/mymaster");
        assertThat(sentinel.mode()).isEqualTo(RedisStoreSettings.Mode.SENTINEL);
        assertThat(sentinel.masterName()).isEqualTo("mymaster");
        assertThat(sentinel.nodes()).containsExactly(new RedisStoreSettings.HostAndPort("s1", 26379),
                new RedisStoreSettings.HostAndPort("s2", 26380));
        RedisStoreSettings cluster = RedisStoreSettings.parse("redis-cluster://a:7000,b:7001,c:7002");
        assertThat(cluster.mode()).isEqualTo(RedisStoreSettings.Mode.CLUSTER);
        assertThat(cluster.nodes()).hasSize(3);
    }

    @Test
    void mistakesAreNamed() {
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis://a:1,b:2"))
                .hasMessageContaining("redis:// takes one host:port");
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis-sentinel://s1:26379"))
                .hasMessageContaining("needs the master's name");
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis://h:1?timeout=soon"))
                .hasMessageContaining("timeout 'soon' is not a positive duration");
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis://h:1?colour=red"))
                .hasMessageContaining("unknown option 'colour'");
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis-cluster://a:1?wait=1"))
                .hasMessageContaining("wait is not supported with redis-cluster://");
        assertThatThrownBy(() -> RedisStoreSettings.parse("redis://h:1/zero"))
                .hasMessageContaining("is not a database number");
        assertThat(RedisStoreSettings.isRedis("disk")).isFalse();
    }
}
