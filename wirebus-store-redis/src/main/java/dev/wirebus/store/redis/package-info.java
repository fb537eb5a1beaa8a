/**
 * The Redis stream store: {@link dev.wirebus.store.redis.RedisStorage}, selected by
 * {@code wirebus serve --store redis://host:port} ({@link dev.wirebus.store.redis.RedisStoreSettings}),
 * lets several brokers serve the same streams. See {@code docs/redis.md}.
 */
package dev.wirebus.store.redis;
