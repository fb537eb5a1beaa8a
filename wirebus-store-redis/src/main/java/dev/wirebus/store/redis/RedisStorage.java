package dev.wirebus.store.redis;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.server.internal.BrokerException;
import dev.wirebus.server.internal.ConsumerPositions;
import dev.wirebus.server.internal.StreamLog;
import dev.wirebus.server.internal.StreamRegistry;
import dev.wirebus.server.internal.StreamStorage;
import dev.wirebus.server.internal.storage.GroupCommitter;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Streams in Redis (standalone, Sentinel or Cluster), shared by every broker started on the same
 * Redis and key prefix: one sequence space per stream, durable consumers, gates and idempotent
 * producers across brokers. See {@code docs/redis.md}.
 *
 * <pre>{@code
 * RedisStorage store = RedisStorage.open(RedisStoreSettings.parse("redis://127.0.0.1:6379"), config);
 * Broker broker = Broker.start(config, store);   // the broker closes the store
 * }</pre>
 *
 * <p>Keys (prefix {@code wirebus}): {@code wirebus:{s}:log} (a Redis stream, one entry per batch,
 * id {@code <first sequence>-0}), {@code wirebus:{s}:meta}, {@code wirebus:{s}:producers},
 * {@code wirebus:{s}:consumers}, and {@code wirebus:streams}, {@code wirebus:store-id}; appends,
 * acknowledgements and deletions are announced on the channel {@code wirebus:events}.
 *
 * <p>DELETE_STREAM ({@link #delete}) changes the store id, deletes the stream's keys in one script
 * (its meta hash keeps a generation, one more), removes it from the set and announces it; every
 * broker then drops its log and ends the stream (event, or the check each second), and reports the
 * new store id in WELCOME.
 *
 * <p>An append is acknowledged when Redis answered the append script (and, with {@code wait=n},
 * when n replicas confirmed it): with {@code appendfsync always} that is after Redis' fsync. Redis
 * unreachable: appends fail at once with UNAVAILABLE (42) naming Redis (nothing appended), a command
 * without answer within the timeout fails with INTERNAL saying the outcome is unknown; subscribers
 * wait and go on from their cursor when Redis is back.
 *
 * <p>Threading: thread-safe. One thread (the tailer) reads other brokers' appends into the streams'
 * tails, opens streams other brokers created, retries gated publishes and checks Redis each second;
 * the check also applies the age limit of streams nobody appends to ({@code retain.lua}).
 */
public final class RedisStorage implements StreamStorage {
    private static final Logger LOG = LoggerFactory.getLogger(RedisStorage.class);
    /** Held publishes are tried again at least this often (acknowledgements announce themselves sooner). */
    static final long GATE_RETRY_MILLIS = 50;
    private static final long CHECK_MILLIS = 1000;
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

    private final RedisStoreSettings settings;
    private final BrokerConfig config;
    private final ClientResources resources;
    private final RedisClient client;
    private final RedisClusterClient clusterClient;
    private final StatefulConnection<String, byte[]> connection;
    private final RedisClusterAsyncCommands<String, byte[]> commands;
    private final StatefulRedisPubSubConnection<String, byte[]> pubsub;
    private final LuaScript append = LuaScript.load("append", "retention");
    private final LuaScript position = LuaScript.load("position");
    private final LuaScript retain = LuaScript.load("retain", "retention");
    private final LuaScript delete = LuaScript.load("delete");
    private final LuaScript create = LuaScript.load("create");
    private final RedisConsumerPositions positions;
    private final RedisStoreMetrics metrics;
    private final ScheduledExecutorService tailer;
    private final Map<String, RedisStreamLog> logs = new ConcurrentHashMap<>();
    private final java.util.Set<RedisStreamLog> toFill = ConcurrentHashMap.newKeySet();
    private final java.util.Set<RedisStreamLog> toRetry = ConcurrentHashMap.newKeySet();
    private final java.util.Set<String> toOpen = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** The store id in Redis as this broker last learnt it (its own deletion, an event, the check). */
    private volatile long storeId;
    private final String durability;
    private volatile StreamRegistry registry;
    private volatile boolean available = true;
    private volatile boolean closed;
    /** False only in tests: events and the check are ignored, as by a broker that missed them. */
    private volatile boolean watching = true;

    private RedisStorage(RedisStoreSettings settings, BrokerConfig config) {
        this.settings = settings;
        this.config = config;
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        this.metrics = new RedisStoreMetrics(config.meterRegistry(), settings.toString(), this::isAvailable);
        ClientOptions.DisconnectedBehavior reject = ClientOptions.DisconnectedBehavior.REJECT_COMMANDS;
        SocketOptions socket = SocketOptions.builder().connectTimeout(settings.timeout()).keepAlive(true).build();
        TimeoutOptions timeouts = TimeoutOptions.enabled(settings.timeout());
        try {
            if (settings.mode() == RedisStoreSettings.Mode.CLUSTER) {
                List<RedisURI> seeds = new ArrayList<>();
                for (RedisStoreSettings.HostAndPort hp : settings.nodes()) {
                    seeds.add(uri(settings, hp).build());
                }
                this.client = null;
                this.clusterClient = RedisClusterClient.create(resources, seeds);
                clusterClient.setOptions(ClusterClientOptions.builder()
                        // a node connection opens on first use: a rejected command would fail that use, so commands
                        // wait for it (bounded by the timeout) instead
                        .autoReconnect(true).disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
                        .requestQueueSize(100_000).socketOptions(socket).timeoutOptions(timeouts)
                        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                                .enableAllAdaptiveRefreshTriggers().enablePeriodicRefresh(Duration.ofSeconds(10)).build())
                        .build());
                StatefulRedisClusterConnection<String, byte[]> c = clusterClient.connect(CODEC);
                this.connection = c;
                this.commands = c.async();
                this.pubsub = clusterClient.connectPubSub(CODEC);
            } else {
                RedisURI uri;
                if (settings.mode() == RedisStoreSettings.Mode.SENTINEL) {
                    RedisStoreSettings.HostAndPort s0 = settings.nodes().get(0);
                    RedisURI.Builder b = RedisURI.Builder.sentinel(s0.host(), s0.port(), settings.masterName());
                    for (RedisStoreSettings.HostAndPort hp : settings.nodes().subList(1, settings.nodes().size())) {
                        b.withSentinel(hp.host(), hp.port());
                    }
                    if (settings.password() != null) {
                        b.withPassword(settings.password().toCharArray());
                    }
                    uri = b.withDatabase(settings.database()).withTimeout(settings.timeout()).build();
                } else {
                    uri = uri(settings, settings.nodes().get(0)).withDatabase(settings.database()).build();
                }
                this.clusterClient = null;
                this.client = RedisClient.create(resources, uri);
                client.setOptions(ClientOptions.builder().autoReconnect(true).disconnectedBehavior(reject)
                        .socketOptions(socket).timeoutOptions(timeouts).build());
                StatefulRedisConnection<String, byte[]> c = client.connect(CODEC);
                this.connection = c;
                this.commands = c.async();
                this.pubsub = client.connectPubSub(CODEC);
            }
        } catch (RuntimeException e) {
            resources.shutdown(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        this.positions = new RedisConsumerPositions(this);
        this.tailer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "wirebus-redis-tailer");
            t.setDaemon(true);
            return t;
        });
        pubsub.addListener(new RedisPubSubAdapter<>() {
            @Override
            public void message(String channel, byte[] message) {
                event(new String(message, StandardCharsets.UTF_8));
            }
        });
        sync(pubsub.async().subscribe(eventsChannel()), "subscribe to " + eventsChannel());
        byte[] fresh = Long.toString(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE))
                .getBytes(StandardCharsets.US_ASCII);
        sync(commands.setnx(storeIdKey(), fresh), "create the store id");
        this.storeId = Long.parseLong(new String(sync(commands.get(storeIdKey()), "read the store id"),
                StandardCharsets.US_ASCII));
        this.durability = readDurability();
        tailer.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static RedisURI.Builder uri(RedisStoreSettings settings, RedisStoreSettings.HostAndPort hp) {
        RedisURI.Builder b = RedisURI.Builder.redis(hp.host(), hp.port()).withSsl(settings.tls())
                .withTimeout(settings.timeout());
        if (settings.password() != null) {
            b.withPassword(settings.password().toCharArray());
        }
        return b;
    }

    /**
     * Connects to Redis and reads (or creates) the store id there.
     *
     * @throws java.io.IOException naming Redis when it cannot be reached
     */
    public static RedisStorage open(RedisStoreSettings settings, BrokerConfig config) throws java.io.IOException {
        try {
            return new RedisStorage(settings, config);
        } catch (RuntimeException e) {
            throw new java.io.IOException("cannot open the Redis store " + settings + ": " + e.getMessage(), e);
        }
    }

    private String readDurability() {
        try {
            Map<String, String> c = connection instanceof StatefulRedisConnection<String, byte[]> s
                    ? s.sync().configGet("appendonly", "appendfsync")
                    : ((StatefulRedisClusterConnection<String, byte[]>) connection).sync().configGet("appendonly",
                    "appendfsync");
            String appendonly = c.getOrDefault("appendonly", "?");
            String fsync = c.getOrDefault("appendfsync", "?");
            if (!"yes".equals(appendonly) || !"always".equals(fsync)) {
                LOG.warn("Redis runs with appendonly {} and appendfsync {}: an acknowledged publish can be lost when "
                        + "Redis stops (appendonly yes and appendfsync always keep every acknowledged one; "
                        + "docs/redis.md)", appendonly, fsync);
            }
            return "appendonly " + appendonly + ", appendfsync " + fsync;
        } catch (RuntimeException e) {
            return "durability unknown (CONFIG GET refused: " + e.getMessage() + ")";
        }
    }

    // ------------------------------------------------------------------ for the logs and positions

    RedisStoreSettings settings() {
        return settings;
    }

    RedisClusterAsyncCommands<String, byte[]> commands() {
        return commands;
    }

    LuaScript append() {
        return append;
    }

    LuaScript position() {
        return position;
    }

    LuaScript retain() {
        return retain;
    }

    RedisStoreMetrics metrics() {
        return metrics;
    }

    RedisConsumerPositions positionsStore() {
        return positions;
    }

    String eventsChannel() {
        return settings.prefix() + ":events";
    }

    private String storeIdKey() {
        return settings.prefix() + ":store-id";
    }

    private String streamsKey() {
        return settings.prefix() + ":streams";
    }

    /**
     * The generation of the stream this broker has open (for position saves), or -1 when none is
     * open here.
     */
    long generation(String stream) {
        RedisStreamLog log = logs.get(stream);
        return log == null ? -1 : log.generation;
    }

    /** log, meta, producers, consumers: one hash tag, so one Cluster slot. */
    String[] keys(String stream) {
        String base = settings.prefix() + ":{" + stream + "}:";
        return new String[] {base + "log", base + "meta", base + "producers", base + "consumers"};
    }

    long retentionMessages(String stream) {
        long n = config.retentionMessages(stream);
        return n >= (1L << 53) ? 0 : n;
    }

    long retentionBytes(String stream) {
        long n = config.retentionBytes(stream);
        return n >= (1L << 53) ? 0 : n;
    }

    /** The stream's age limit in milliseconds, 0 for none. */
    long retentionAgeMillis(String stream) {
        Duration age = config.retentionAge(stream);
        return age == null ? 0 : Math.max(1, Math.min(age.toMillis(), (1L << 53) - 1));
    }

    /** The scripts' retention argument: "messages bytes ageMillis", 0 where there is no limit. */
    String retention(String stream) {
        return retentionMessages(stream) + " " + retentionBytes(stream) + " " + retentionAgeMillis(stream);
    }

    /** Waits for a command (bounded by the timeout); failures become a BrokerException naming Redis. */
    <T> T sync(java.util.concurrent.Future<T> future, String what) {
        try {
            return future.get(settings.timeout().toMillis() + 500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException(ErrorCode.INTERNAL, "interrupted while waiting for Redis to " + what);
        } catch (ExecutionException e) {
            throw unavailable(e.getCause(), what);
        } catch (TimeoutException e) {
            throw unavailable(new RedisCommandTimeoutException("no answer"), what);
        }
    }

    /**
     * The error a broker answers when Redis failed a command: unreachable (nothing was sent, so
     * nothing happened: UNAVAILABLE with a retry hint), no answer in time (INTERNAL: the outcome is
     * unknown), or another failure (INTERNAL).
     */
    BrokerException unavailable(Throwable failure, String what) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (t instanceof BrokerException b) {
            return b;
        }
        if (t instanceof RedisCommandTimeoutException) {
            return new BrokerException(ErrorCode.INTERNAL, "Redis store " + settings + " did not answer within "
                    + settings.timeout().toMillis() + " ms to " + what + "; it may or may not have happened");
        }
        String msg = String.valueOf(t.getMessage());
        if (msg.contains("Connection closed")) {
            // sent, then the connection went: Redis may have run it
            markUnavailable(msg);
            return new BrokerException(ErrorCode.INTERNAL, "Redis store " + settings + " closed the connection before "
                    + "answering to " + what + "; it may or may not have happened");
        }
        if (t instanceof RedisConnectionException || msg.contains("not connected") || msg.contains("LOADING")) {
            markUnavailable(msg);
            return new BrokerException(ErrorCode.UNAVAILABLE, "Redis store " + settings + " is unreachable ("
                    + msg + "): could not " + what + "; nothing was done, retry later",
                    ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, 1000));
        }
        return new BrokerException(ErrorCode.INTERNAL, "Redis store " + settings + " failed to " + what + ": " + msg);
    }

    /** The refusal of work while the last check found Redis unreachable: nothing was sent. */
    BrokerException refusedWhileDown(String what) {
        return new BrokerException(ErrorCode.UNAVAILABLE, "Redis store " + settings + " is unreachable (no answer to "
                + "the broker's last check): could not " + what + "; nothing was done, retry later",
                ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, 1000));
    }

    private void markUnavailable(String why) {
        if (available) {
            available = false;
            metrics.failover();
            LOG.error("Redis store {} is unreachable: {}; publishes fail until it is back, subscribers wait", settings, why);
        }
    }

    void appendStarted() {
        inFlight.incrementAndGet();
    }

    void appendEnded(long nanos, Throwable failure) {
        if (inFlight.decrementAndGet() == 0) {
            synchronized (inFlight) {
                inFlight.notifyAll();
            }
        }
        metrics.append(nanos, failure == null);
    }

    /** After the append script: WAIT for replicas when asked; the reply passes through. */
    CompletableFuture<List<Object>> waitReplicas(List<Object> reply) {
        boolean appended = false;
        for (int i = 0; i < reply.size(); i += 4) {
            // a duplicate is waited for too: its first copy may not have reached the replicas yet
            String verdict = LuaScript.text(reply.get(i));
            appended |= verdict.equals("OK") || verdict.equals("DUP");
        }
        if (settings.waitReplicas() == 0 || !appended) {
            return CompletableFuture.completedFuture(reply);
        }
        RedisClusterAsyncCommands<String, byte[]> c = commands;
        // WAIT gives up at half the timeout, so it answers (with the count) before the command itself times out
        long waitMillis = Math.max(1, settings.timeout().toMillis() / 2);
        return c.waitForReplication(settings.waitReplicas(), waitMillis).toCompletableFuture()
                .thenCompose(n -> n >= settings.waitReplicas() ? CompletableFuture.completedFuture(reply)
                        : CompletableFuture.failedFuture(new BrokerException(ErrorCode.INTERNAL, "only " + n + " of "
                        + settings.waitReplicas() + " Redis replicas confirmed the append within "
                        + waitMillis + " ms; it is on the master and may be lost if it fails")));
    }

    void readFailed(String stream, RuntimeException e) {
        LOG.debug("reading stream '{}' from Redis failed: {}", stream, e.getMessage());
    }

    void positionFailed(String stream, String consumer, Throwable failure) {
        LOG.warn("could not store the position of consumer '{}' of stream '{}' in Redis ({}); retrying",
                consumer, stream, failure.getMessage());
    }

    /** A consumer's position was stored: held publishes of that stream may pass now. */
    void acknowledged(String stream) {
        RedisStreamLog log = logs.get(stream);
        if (log != null && log.holding()) {
            log.retryHeld();
        }
    }

    void scheduleGateRetry(RedisStreamLog log) {
        if (!closed && toRetry.add(log)) {
            tailer.schedule(() -> {
                toRetry.remove(log);
                log.retryHeld();
            }, GATE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    void scheduleFill(RedisStreamLog log) {
        if (!closed && toFill.add(log)) {
            tailer.execute(() -> {
                toFill.remove(log);
                if (log.fill() && log.behind()) {
                    scheduleFill(log);
                }
            });
        }
    }

    /**
     * An event on the channel: "a <stream> <next> <first>" (appended), "k <stream>" (acknowledged)
     * or "d <stream> <generation> <store id>" (deleted; the generation is the new one).
     */
    private void event(String message) {
        if (!watching) {
            return;
        }
        String[] parts = message.split(" ");
        if (parts.length < 2) {
            return;
        }
        RedisStreamLog log = logs.get(parts[1]);
        if (parts[0].equals("a") && parts.length == 4) {
            if (log != null) {
                log.announced(Long.parseLong(parts[2]), Long.parseLong(parts[3]));
            } else if (registry != null && toOpen.add(parts[1])) {
                tailer.execute(() -> openCreatedElsewhere(parts[1]));
            }
        } else if (parts[0].equals("k") && log != null && log.holding()) {
            log.retryHeld();
        } else if (parts[0].equals("d") && parts.length == 4) {
            learntStoreId(Long.parseLong(parts[3]));
            if (log != null && log.generation < Long.parseLong(parts[2])) {
                deleted(log);
            } else if (log != null && !closed) {
                // opened anew here between the deletion's script and its SREM (the event comes after both):
                // put the name back in the set, where the SREM took it from
                try {
                    tailer.execute(() -> reRegister(log.name()));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // closing
                }
            }
        }
    }

    /** Adds a stream this broker has open back to the set of streams (no limit: it exists already). */
    private void reRegister(String stream) {
        try {
            sync(create.run(commands, new String[] {streamsKey()}, stream.getBytes(StandardCharsets.UTF_8),
                    "0".getBytes(StandardCharsets.US_ASCII)), "register stream '" + stream + "'");
        } catch (RuntimeException e) {
            LOG.warn("stream '{}' could not be put back in {} after a deletion: {}", stream, streamsKey(),
                    e.getMessage());
        }
    }

    /** A position save found the stream deleted since that generation: drops the log if it is still open. */
    void deletedGeneration(String stream, long generation) {
        RedisStreamLog log = logs.get(stream);
        if (log != null && log.generation == generation) {
            deleted(log);
        }
    }

    /** The store id in Redis changed (another broker deleted a stream): WELCOME says the new one. */
    private void learntStoreId(long id) {
        long old = storeId;
        if (id != old) {
            storeId = id;
            LOG.info("store id {} -> {} (a stream was deleted by another broker; clients resuming by sequence get "
                    + "STORE_CHANGED)", old, id);
        }
    }

    /**
     * The stream of {@code log} was deleted in Redis (by this broker or another, learnt from the
     * deletion itself, an event, the check, or a refused append, position or read): this broker
     * drops the log, fails its held publishes with NOT_FOUND and, on the tailer, ends the stream in
     * the registry (its subscriptions end with NOT_FOUND). Any thread; once per log.
     */
    void deleted(RedisStreamLog log) {
        if (!log.gone()) {
            return;
        }
        logs.remove(log.name(), log);
        positions.forget(log.name(), log.generation);
        StreamRegistry streams = registry;
        if (streams != null && !closed) {
            try {
                tailer.execute(() -> streams.deletedElsewhere(log.name(), log));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing: the streams end with the broker
            }
        }
    }

    /** Another broker created a stream: open it here too, so its subscribers here see it. */
    private void openCreatedElsewhere(String stream) {
        try {
            registry.getOrCreate(stream);
        } catch (RuntimeException e) {
            LOG.warn("stream '{}' was created by another broker but cannot be opened here: {}", stream, e.getMessage());
        } finally {
            toOpen.remove(stream);
        }
    }

    /** Each second: is Redis there (latency), did anything get missed while it was not. */
    private void check() {
        if (closed || !watching) {
            return;
        }
        for (RedisStreamLog log : logs.values()) {
            log.expireHeldAcks();
        }
        long start = System.nanoTime();
        try {
            sync(commands.ping(), "PING");
            metrics.ping(System.nanoTime() - start);
            if (!available) {
                available = true;
                metrics.failover();
                LOG.warn("Redis store {} is reachable again; catching up", settings);
            }
            positions.retryFailed();
            // a notification lost while the connection was down would leave a tail behind: compare with Redis
            // one pipelined HGET per stream, then the answers
            // and a deletion whose event was lost shows as a newer generation (and a new store id)
            RedisFuture<byte[]> id = commands.get(storeIdKey());
            List<RedisStreamLog> open = new ArrayList<>(logs.values());
            List<RedisFuture<List<io.lettuce.core.KeyValue<String, byte[]>>>> metas = new ArrayList<>(open.size());
            for (RedisStreamLog log : open) {
                metas.add(commands.hmget(log.keys[1], "next", "gen"));
            }
            byte[] currentId = id.get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (currentId != null) {
                learntStoreId(Long.parseLong(new String(currentId, StandardCharsets.US_ASCII)));
            }
            java.util.Set<String> dropped = new java.util.HashSet<>();
            for (int i = 0; i < open.size(); i++) {
                RedisStreamLog log = open.get(i);
                List<io.lettuce.core.KeyValue<String, byte[]>> meta = metas.get(i)
                        .get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
                if (!log.current(meta.get(1).getValueOrElse(null))) {
                    deleted(log);
                    dropped.add(log.name());
                    continue;
                }
                byte[] next = meta.get(0).getValueOrElse(null);
                if (next != null) {
                    log.announced(Long.parseLong(new String(next, StandardCharsets.US_ASCII)), 0);
                }
                if (log.behind()) {
                    scheduleFill(log);
                }
                if (log.holding()) {
                    log.retryHeld();
                }
            }
            sweepAged(open);
            if (registry != null) {
                for (byte[] name : commands.smembers(streamsKey())
                        .get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                    String s = new String(name, StandardCharsets.UTF_8);
                    // a stream just found deleted may still be in the set (its deleter removes it next)
                    if (!logs.containsKey(s) && !dropped.contains(s) && toOpen.add(s)) {
                        openCreatedElsewhere(s);
                    }
                }
            }
        } catch (Exception e) {
            markUnavailable(String.valueOf(e.getMessage()));
        }
    }

    /**
     * Each check: streams with an age limit drop what aged out even when nothing is appended to them
     * ({@code retain.lua}, one pipelined call per such stream; every node does it, harmlessly).
     */
    private void sweepAged(List<RedisStreamLog> open) throws InterruptedException {
        List<RedisStreamLog> aged = new ArrayList<>();
        List<CompletableFuture<List<Object>>> replies = new ArrayList<>();
        for (RedisStreamLog log : open) {
            if (retentionAgeMillis(log.name()) > 0) {
                aged.add(log);
                replies.add(log.applyRetention(0));
            }
        }
        for (int i = 0; i < aged.size(); i++) {
            try {
                aged.get(i).retained(replies.get(i).get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS));
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("applying the retention of stream '{}' in Redis failed: {}", aged.get(i).name(),
                        String.valueOf(e.getCause() == null ? e : e.getCause()));
            }
        }
    }

    /**
     * For tests: while false, this broker ignores the events channel and skips its check, as a broker
     * cut off from the events would (its commands still reach Redis). Returns once a check running
     * meanwhile (on the tailer) has ended.
     */
    void watching(boolean on) throws Exception {
        watching = on;
        tailer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }

    /** Whether Redis answered the last check (for {@code /readyz}). */
    public boolean isAvailable() {
        return available && !closed;
    }

    /** The health the gateway's {@code /readyz} reports: false while Redis is unreachable. */
    public BooleanSupplier readiness() {
        return this::isAvailable;
    }

    /** Failovers and outages seen (each loss of Redis and each return counts one). */
    public long failoverEvents() {
        return metrics.failovers();
    }

    // ------------------------------------------------------------------ StreamStorage

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public void bind(StreamRegistry streams) {
        this.registry = streams;
    }

    /**
     * Opens a stream, registering it in the set of streams when it is new there: max-streams counts
     * the streams of every broker sharing the store, exactly (one script in the set's slot).
     *
     * @throws BrokerException STREAM_LIMIT when the store holds max-streams streams; UNAVAILABLE
     *     (or INTERNAL) naming Redis when it failed
     */
    @Override
    public StreamLog open(String stream) {
        String[] k = keys(stream);
        List<Object> registered = sync(create.run(commands, new String[] {streamsKey()},
                stream.getBytes(StandardCharsets.UTF_8), Integer.toString(config.maxStreams())
                        .getBytes(StandardCharsets.US_ASCII)), "register stream '" + stream + "'");
        if (LuaScript.text(registered.get(0)).equals("LIMIT")) {
            throw new BrokerException(ErrorCode.STREAM_LIMIT, "stream '" + stream + "' was not created: the Redis "
                    + "store holds " + LuaScript.number(registered.get(1)) + " streams (of every broker sharing it), its "
                    + "limit (max-streams " + config.maxStreams() + ")");
        }
        List<io.lettuce.core.KeyValue<String, byte[]>> meta = sync(commands.hmget(k[1], "next", "first", "gen"),
                "read stream '" + stream + "'");
        long next = meta.get(0).hasValue() ? Long.parseLong(new String(meta.get(0).getValue(), StandardCharsets.US_ASCII)) : 1;
        long first = meta.get(1).hasValue() ? Long.parseLong(new String(meta.get(1).getValue(), StandardCharsets.US_ASCII)) : 1;
        long gen = meta.get(2).hasValue() ? Long.parseLong(new String(meta.get(2).getValue(), StandardCharsets.US_ASCII)) : 0;
        RedisStreamLog log = new RedisStreamLog(this, stream, gen, next, first);
        logs.put(stream, log);
        return log;
    }

    /**
     * Deletes the stream for every broker on this Redis, in this order (a crash between two steps
     * leaves nothing a client could misread): a new store id (at worst a new epoch and nothing
     * deleted: resuming clients start over needlessly); the stream's keys in one script, which keeps
     * only a generation one higher in its meta hash, so a broker still holding the old log has its
     * appends, positions and reads refused (at worst the name stays in the set as an empty stream, as
     * if a subscriber had created it again); the name out of the set; the event {@code d}, on which
     * every broker drops its log and ends the stream (a lost event: the check each second finds the
     * generation and the store id changed). Positions of its durable consumers go with its keys.
     *
     * @throws BrokerException NOT_FOUND when another broker deleted the stream first (nothing more is
     *     deleted), UNAVAILABLE or INTERNAL naming Redis when it failed
     */
    @Override
    public void delete(String stream, StreamLog log) {
        RedisStreamLog deleting = (RedisStreamLog) log;
        long old = storeId;
        long fresh;
        do {
            fresh = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        } while (fresh == old);
        if (!available) {
            throw refusedWhileDown("delete stream '" + stream + "'");
        }
        // the new epoch first: never a stream created anew in the epoch its deleted records had
        sync(commands.set(storeIdKey(), Long.toString(fresh).getBytes(StandardCharsets.US_ASCII)),
                "change the store id to delete stream '" + stream + "'");
        storeId = fresh;
        List<Object> reply = sync(delete.run(commands, keys(stream),
                Long.toString(deleting.generation).getBytes(StandardCharsets.US_ASCII)), "delete stream '" + stream + "'");
        if (LuaScript.text(reply.get(0)).equals("GONE")) {
            deleted(deleting);
            throw new BrokerException(ErrorCode.NOT_FOUND, "stream '" + stream + "' was deleted meanwhile by another "
                    + "broker; nothing more was deleted");
        }
        long generation = LuaScript.number(reply.get(1));
        deleted(deleting);
        sync(commands.srem(streamsKey(), stream.getBytes(StandardCharsets.UTF_8)),
                "remove stream '" + stream + "' from " + streamsKey());
        sync(commands.publish(eventsChannel(), ("d " + stream + " " + generation + " " + fresh)
                .getBytes(StandardCharsets.UTF_8)), "announce the deletion of stream '" + stream + "'");
        LOG.info("stream '{}' deleted from Redis (generation {}); store id {} -> {} (clients resuming by sequence "
                + "get STORE_CHANGED)", stream, generation, old, fresh);
    }

    @Override
    public List<String> existing() {
        List<String> names = new ArrayList<>();
        for (byte[] b : sync(commands.smembers(streamsKey()), "list the streams")) {
            names.add(new String(b, StandardCharsets.UTF_8));
        }
        return names;
    }

    @Override
    public GroupCommitter committer(String stream) {
        return null;
    }

    @Override
    public ConsumerPositions positions() {
        return positions;
    }

    @Override
    public long storeId() {
        return storeId;
    }

    @Override
    public String describe() {
        return "redis " + settings + " (" + durability + (settings.waitReplicas() > 0
                ? ", WAIT " + settings.waitReplicas() + " replicas" : "") + ")";
    }

    @Override
    public void settle() {
        // appends in flight are answered by Redis or by the command timeout
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        synchronized (inFlight) {
            while (inFlight.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(inFlight, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        settle();
        tailer.shutdownNow();
        try {
            tailer.awaitTermination(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pubsub.close();
        connection.close();
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        } else {
            clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        resources.shutdown(0, 1, TimeUnit.SECONDS);
        metrics.close();
    }
}
