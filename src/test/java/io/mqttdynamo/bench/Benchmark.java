package io.mqttdynamo.bench;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

import org.awaitility.core.ConditionTimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.LocalDynamoDbResource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;
import software.amazon.awssdk.services.dynamodb.model.Select;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The throughput benchmark: Mosquitto, dynalite and the packaged service on this machine, QoS 1 messages
 * in, DynamoDB items out. Run with {@code ./mvnw -Pbench verify}; see docs/benchmark.md.
 * Prints one JSON object on stdout (also in {@code target/bench/result.json}); progress goes to stderr.
 *
 * <p>System properties: {@code bench.messages} (20000), {@code bench.topics} (100), {@code bench.modes}
 * (raw,envelope), {@code bench.payload} (200 bytes), {@code bench.latencyMessages} (5000),
 * {@code bench.naive} (true), {@code bench.stallSeconds} (120: give up waiting after so long without
 * progress), {@code bench.maxSeconds} (300: longest wait of one phase), {@code bench.brokerMaxInflight}
 * (Mosquitto's {@code max_inflight_messages}; its default when unset), {@code bench.clientEvents} (50000: the
 * client-event storm, half connected and half disconnected events of as many client ids; 0 leaves it out).
 */
public final class Benchmark {

    private static final PrintStream LOG = System.err;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final String ENVELOPE_TOPIC = "bench-events/message_publish";
    private static final int MAX_IN_FLIGHT = 500;
    private static final long LATENCY_SEQ_BASE = 100_000_000L;
    private static final long STEADY_SEQ_BASE = 200_000_000L;
    private static final Pattern DISCONNECTED = Pattern.compile("MQTT channel .* disconnected");

    private final int messages = Integer.getInteger("bench.messages", 20_000);
    private final int topics = Integer.getInteger("bench.topics", 100);
    private final int payloadBytes = Integer.getInteger("bench.payload", 200);
    private final int latencyMessages = Integer.getInteger("bench.latencyMessages", 5_000);
    private final List<String> modes = Arrays.stream(System.getProperty("bench.modes", "raw,envelope").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).toList();
    private final boolean naive = Boolean.parseBoolean(System.getProperty("bench.naive", "true"));
    /** Messages published and stored before the measured run, so that it measures a warm JVM. */
    private final int warmupMessages = Integer.getInteger("bench.warmupMessages", 10_000);
    private final int clientEvents = Integer.getInteger("bench.clientEvents", 50_000);
    private final Duration stall = Duration.ofSeconds(Long.getLong("bench.stallSeconds", 120));
    private final Duration maxWait = Duration.ofSeconds(Long.getLong("bench.maxSeconds", 300));
    private final Path dir = Path.of("target", "bench");
    private final long clockTicks = clockTicks();
    private final String run = Long.toHexString(System.currentTimeMillis());

    /** Everything started, closed in reverse order at the end of a mode and on JVM exit. */
    private final Deque<AutoCloseable> started = new ArrayDeque<>();

    public static void main(String[] args) throws Exception {
        Benchmark benchmark = new Benchmark();
        Runtime.getRuntime().addShutdownHook(new Thread(benchmark::closeAll, "bench-cleanup"));
        ObjectNode result;
        try {
            result = benchmark.runAll();
        } catch (Throwable e) {
            e.printStackTrace(LOG);
            benchmark.closeAll();
            Runtime.getRuntime().halt(1);
            return;
        } finally {
            benchmark.closeAll();
        }
        String text = JSON.writeValueAsString(result);
        Files.createDirectories(benchmark.dir);
        Files.writeString(benchmark.dir.resolve("result.json"), text + "\n");
        System.out.println(text);
        System.out.flush();
        // Netty and HiveMQ threads of closed clients may linger: the result is out, end here.
        Runtime.getRuntime().halt(0);
    }

    private ObjectNode runAll() throws Exception {
        Files.createDirectories(dir);
        ObjectNode result = JSON.createObjectNode();
        result.put("date", OffsetDateTime.now(ZoneOffset.UTC).toString());
        result.set("machine", machine());
        ObjectNode settings = result.putObject("settings");
        settings.put("messages", messages).put("topics", topics).put("payload_bytes", payloadBytes)
                .put("latency_messages", latencyMessages).put("stall_seconds", stall.toSeconds());
        ArrayNode results = result.putArray("modes");
        Double naiveRate = null;
        boolean naiveDone = !naive;
        for (String mode : modes) {
            if (!mode.equals("raw") && !mode.equals("envelope")) {
                throw new IllegalArgumentException("bench.modes: raw or envelope, got " + mode);
            }
            ObjectNode modeResult = results.addObject();
            boolean withNaive = !naiveDone && (mode.equals("raw") || !modes.contains("raw"));
            try {
                Double rate = runMode(mode, modeResult, withNaive);
                if (withNaive) {
                    naiveRate = rate;
                    naiveDone = true;
                }
            } catch (Exception e) {
                LOG.println("[bench] mode " + mode + " failed: " + e);
                e.printStackTrace(LOG);
                modeResult.put("error", e.toString());
            } finally {
                closeAll();
            }
        }
        result.put("naive_bridge_msgs_per_s", naiveRate);
        if (clientEvents > 0) {
            ObjectNode storm = result.putObject("client_events");
            try {
                clientEventStorm(storm);
            } catch (Exception e) {
                LOG.println("[bench] client-event storm failed: " + e);
                e.printStackTrace(LOG);
                storm.put("error", e.toString());
            } finally {
                closeAll();
            }
        }
        for (JsonNode mode : results) {
            if (naiveRate != null && naiveRate > 0 && mode.hasNonNull("persisted_msgs_per_s")) {
                ((ObjectNode) mode).put("ratio_to_naive", round(mode.get("persisted_msgs_per_s").asDouble() / naiveRate,
                        2));
            }
        }
        JsonNode first = results.isEmpty() ? null : results.get(0);
        result.set("ratio_to_naive", first == null ? null : first.get("ratio_to_naive"));
        return result;
    }

    /** One mode, fresh Mosquitto and dynalite; returns the naive bridge's rate when it ran. */
    private Double runMode(String mode, ObjectNode out, boolean withNaive) throws Exception {
        out.put("mode", mode).put("messages", messages).put("topics", topics).put("payload_bytes", payloadBytes);
        log("mode %s: starting Mosquitto and dynalite", mode);
        Mosquitto broker = track(Mosquitto.start(dir, mode));
        int dynamoPort = LocalDynamoDbResource.freePort();
        DynaliteServer dynalite = track(DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort,
                Optional.empty()));
        long dynalitePid = childPid("--port " + dynamoPort).orElse(-1L);
        DynamoDbAsyncClient db = track(dynamoClient(dynalite.endpoint()));

        // 1. The write ceiling of this dynalite.
        double ceiling = 0;
        ObjectNode ceilings = out.putObject("ceiling_by_concurrency");
        ceilingWarmUp(db);
        for (int concurrency : new int[] {4, 8, 16}) {
            double rate = ceiling(db, concurrency);
            ceilings.put(Integer.toString(concurrency), round(rate, 0));
            ceiling = Math.max(ceiling, rate);
            log("ceiling, concurrency %d: %.0f items/s", concurrency, rate);
        }
        out.put("ceiling_items_per_s", round(ceiling, 0));

        // 2. The service, fed as fast as it takes messages.
        String clientId = "bench-" + run + "-" + mode;
        Service service = track(Service.start(dir, mode + "-throughput", environment(mode, clientId,
                broker.port, dynalite.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        log("service ready (pid %d)", service.process.pid());

        Publisher publisher = track(connectPublisher(broker.port, "bench-pub-" + run + "-" + mode));
        if (warmupMessages > 0) {
            // The JVM's just-in-time compilation would otherwise be measured as the service's cost per message.
            publisher.publishAll(mode, messages, warmupMessages, 0, null);
            boolean warm = awaitAcknowledged(service, warmupMessages, System.nanoTime()) > 0;
            log("warm-up: %d messages %s", warmupMessages, warm ? "stored" : "NOT all stored");
        }
        double unitsBefore = writeUnits(service);
        long[] cpuBefore = {cpuTicks(service.process.pid()), cpuTicks(dynalitePid), cpuTicks(broker.process.pid())};
        long start = System.nanoTime();
        CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> publisher.publishAll(mode, 0,
                messages, 0, null));
        Persisted persisted = awaitPersisted(db, service, messages, start, publishing);
        long[] cpuAfter = {cpuTicks(service.process.pid()), cpuTicks(dynalitePid), cpuTicks(broker.process.pid())};
        double cpuSeconds = (System.nanoTime() - start) / 1e9;
        finish(publishing);
        double seconds = (persisted.endNanos - start) / 1e9;
        double rate = persisted.complete ? messages / seconds : persisted.msgItems / seconds;
        out.put("persisted_msgs_per_s", round(rate, 0));
        out.put("complete", persisted.complete);
        out.put("load_seconds", round(seconds, 2));
        out.put("ratio_to_ceiling", ceiling > 0 ? round(rate / ceiling, 2) : null);
        out.put("publish_errors", publisher.errors.get());
        out.put("poll_interval_ms", persisted.intervalMs);
        out.put("poll_ms_avg", round(persisted.pollMillisAvg, 1));
        double per10k = 10_000.0 / Math.max(1, persisted.complete ? messages : persisted.msgItems);
        // From the first publish until all were seen persisted (or the wait gave up), per message stored.
        out.put("cpu_window_seconds", round(cpuSeconds, 2));
        out.put("service_cpu_ms_per_10k", round(ticksToMs(cpuAfter[0] - cpuBefore[0]) * per10k, 0));
        out.put("dynalite_cpu_ms_per_10k", dynalitePid < 0 ? null
                : round(ticksToMs(cpuAfter[1] - cpuBefore[1]) * per10k, 0));
        out.put("broker_cpu_ms_per_10k", round(ticksToMs(cpuAfter[2] - cpuBefore[2]) * per10k, 0));
        out.put("service_peak_rss_mb", round(peakRssKb(service.process.pid()) / 1024.0, 0));
        // DynamoDB's bill for the burst, from the write units DynamoDB reported for each write (the service's
        // mqtt_dynamo_consumed_write_units_total; dynalite computes them by DynamoDB's rule).
        awaitAcknowledged(service, warmupMessages + messages, System.nanoTime());
        out.put("wcu_per_msg_burst", round((writeUnits(service) - unitsBefore) / Math.max(1, persisted.complete
                ? messages : persisted.msgItems), 2));
        log("persisted %s: %.0f msgs/s over %.2f s", persisted.complete ? "all" : "NOT all", rate, seconds);

        // 3. What is really stored.
        verify(db, out);
        String metrics = service.get("/q/metrics").orElse("");
        reconnects(out, service, metrics);
        service.stop();

        // 4. Latency at half the sustained rate, seen through a proxy in front of dynalite.
        if (latencyMessages > 0 && rate > 0) {
            latency(mode, out, broker, dynalite, rate / 2, clientId);
        }

        // 5. A naive bridge on the same broker and dynalite.
        Double naiveRate = null;
        if (withNaive) {
            naiveRate = naiveBridge(db, broker.port);
            log("naive bridge: %s msgs/s", naiveRate);
        }
        return naiveRate;
    }

    // ---------------------------------------------------------------- client events

    private static final String STORM_EVENTS = "bench-sys/brokers/bench@127.0.0.1/clients/";

    /**
     * A storm of client events, as after a broker restart when every device reconnects: {@code clientEvents}
     * EMQX {@code $SYS}-shaped events through Mosquitto (a connected event of each of half as many client ids,
     * then a disconnected one of each), default functions; until every event is stored and the client counters
     * say so (known = ids, online = 0). Events per second, CPU and write units per event.
     */
    private void clientEventStorm(ObjectNode out) throws Exception {
        int clients = clientEvents / 2;
        out.put("events", clients * 2).put("client_ids", clients);
        log("client events: starting Mosquitto and dynalite");
        Mosquitto broker = track(Mosquitto.start(dir, "client-events"));
        int dynamoPort = LocalDynamoDbResource.freePort();
        DynaliteServer dynalite = track(DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort,
                Optional.empty()));
        long dynalitePid = childPid("--port " + dynamoPort).orElse(-1L);
        DynamoDbAsyncClient db = track(dynamoClient(dynalite.endpoint()));
        // What this dynalite takes of the one kind of request an event needs, a conditional UpdateItem of one
        // client item, sent straight to it, 16 at a time: the ceiling the storm is compared with.
        createTable(db, "bench_updates", "clientid");
        updateCeiling(db, Math.min(clients, 2_000), 16);
        double ceiling = updateCeiling(db, Math.min(clients, 10_000), 16);
        out.put("ceiling_updates_per_s", round(ceiling, 0));
        log("client events: dynalite takes %.0f conditional updates/s", ceiling);
        Map<String, String> env = environment("raw", "bench-" + run + "-events", broker.port, dynalite.endpoint());
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "emqx5");
        env.put("MQTT_DYNAMO_EVENTS_TOPIC", "bench-sys/brokers/+/clients/#");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", "bench-no-messages/#");
        Service service = track(Service.start(dir, "client-events", env));
        service.awaitReady(Duration.ofSeconds(120));
        Mqtt5AsyncClient client = MqttClient.builder().useMqttVersion5().identifier("bench-events-" + run)
                .serverHost("127.0.0.1").serverPort(broker.port).buildAsync();
        client.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        try {
            // Warm-up under other client ids: the JIT's work is not the cost of an event.
            int warmup = Math.min(clients, 2_000);
            publishEvents(client, "warm-", warmup);
            awaitClientEvents(service, 2L * warmup);
            double unitsBefore = writeUnits(service);
            long[] cpuBefore = {cpuTicks(service.process.pid()), cpuTicks(dynalitePid)};
            long start = System.nanoTime();
            CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> publishEvents(client, "dev-",
                    clients));
            long end = awaitClientEvents(service, 2L * warmup + 2L * clients);
            long[] cpuAfter = {cpuTicks(service.process.pid()), cpuTicks(dynalitePid)};
            finish(publishing);
            double seconds = ((end > 0 ? end : System.nanoTime()) - start) / 1e9;
            double per10k = 10_000.0 / (2.0 * clients);
            out.put("complete", end > 0);
            out.put("events_per_s", round(2.0 * clients / seconds, 0));
            out.put("ratio_to_ceiling", ceiling > 0 ? round(2.0 * clients / seconds / ceiling, 2) : null);
            out.put("seconds", round(seconds, 2));
            out.put("service_cpu_ms_per_10k", round(ticksToMs(cpuAfter[0] - cpuBefore[0]) * per10k, 0));
            out.put("dynalite_cpu_ms_per_10k", dynalitePid < 0 ? null
                    : round(ticksToMs(cpuAfter[1] - cpuBefore[1]) * per10k, 0));
            out.put("wcu_per_event", round((writeUnits(service) - unitsBefore) / (2.0 * clients), 2));
            long[] counted = clientCounters(db);
            out.put("counted_known", counted[0]).put("counted_online", counted[1]);
            out.put("counters_right", counted[0] == warmup + clients && counted[1] == 0);
            log("client events: %.0f events/s, counters known %d online %d", 2.0 * clients / seconds, counted[0],
                    counted[1]);
        } finally {
            client.disconnect();
        }
    }

    /** Conditional updates of {@code count} items, {@code concurrency} at a time, per second. */
    private double updateCeiling(DynamoDbAsyncClient db, int count, int concurrency) {
        java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(concurrency);
        String round = Long.toHexString(System.nanoTime());
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long now = System.currentTimeMillis();
            String clientId = "ceiling-" + round + "-" + i;
            window.acquireUninterruptibly();
            db.updateItem(b -> b.tableName("bench_updates")
                    .key(Map.of("clientid", AttributeValue.fromS(clientId)))
                    .updateExpression("SET connect_state = :one, online_at = :at, offline_at = :zero, node = :node")
                    .conditionExpression("attribute_not_exists(online_at) OR online_at <= :at")
                    .expressionAttributeValues(Map.of(":one", AttributeValue.fromN("1"), ":zero",
                            AttributeValue.fromN("0"), ":at", AttributeValue.fromN(Long.toString(now)), ":node",
                            AttributeValue.fromS("bench@127.0.0.1"))))
                    .whenComplete((ok, failure) -> window.release());
        }
        window.acquireUninterruptibly(concurrency);
        return count / ((System.nanoTime() - start) / 1e9);
    }

    /** A connected event of each of {@code clients} ids, then a disconnected one of each; QoS 1, bounded in flight. */
    private void publishEvents(Mqtt5AsyncClient client, String prefix, int clients) {
        java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(MAX_IN_FLIGHT);
        for (String kind : List.of("connected", "disconnected")) {
            for (int i = 0; i < clients; i++) {
                String clientId = prefix + run + "-" + i;
                long now = System.currentTimeMillis();
                String payload = kind.equals("connected")
                        ? "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"ts\":" + now
                                + ",\"connected_at\":" + now + ",\"proto_ver\":5,\"keepalive\":60}"
                        : "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"reason\":\"normal\",\"ts\":"
                                + now + ",\"disconnected_at\":" + now + "}";
                window.acquireUninterruptibly();
                client.publishWith().topic(STORM_EVENTS + clientId + "/" + kind).qos(MqttQos.AT_LEAST_ONCE)
                        .payload(payload.getBytes(StandardCharsets.UTF_8)).send()
                        .whenComplete((ack, failure) -> window.release());
            }
        }
        window.acquireUninterruptibly(MAX_IN_FLIGHT);
    }

    /** Until the client-events channel took {@code received} events and holds none unacknowledged; 0 on a stall. */
    private long awaitClientEvents(Service service, long received) {
        long deadline = System.nanoTime() + maxWait.toNanos();
        Stall stalled = new Stall(received);
        long[] seenAt = {0};
        poll(Duration.ofMillis(POLL_MS), () -> {
            String metrics = service.get("/q/metrics").orElse("");
            long taken = (long) PrometheusText.value(metrics,
                    "mqtt_dynamo_events_received_total{channel=\"client-events\"}");
            long holding = (long) PrometheusText.value(metrics,
                    "mqtt_dynamo_unacknowledged_messages{channel=\"client-events\"}");
            long now = System.nanoTime();
            if (taken >= received && holding == 0) {
                seenAt[0] = now;
                return true;
            }
            if (stalled.check(taken - holding, now) || now > deadline) {
                log("client events: no progress: %d taken, %d unacknowledged, %d expected", taken, holding, received);
                return true;
            }
            return false;
        });
        return seenAt[0];
    }

    /** The sums of the client counters' shards in mqtt_dynamo_stats: known, online. */
    private static long[] clientCounters(DynamoDbAsyncClient db) {
        long[] sums = new long[2];
        Map<String, AttributeValue> start = null;
        do {
            ScanResponse page = db.scan(ScanRequest.builder().tableName("mqtt_dynamo_stats").exclusiveStartKey(start)
                    .build()).join();
            for (Map<String, AttributeValue> item : page.items()) {
                if (item.get("name").s().startsWith("clients#")) {
                    sums[0] += item.containsKey("known") ? Long.parseLong(item.get("known").n()) : 0;
                    sums[1] += item.containsKey("online") ? Long.parseLong(item.get("online").n()) : 0;
                }
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return sums;
    }

    // ---------------------------------------------------------------- ceiling

    /** An unmeasured first pass, so that neither this JVM nor dynalite measures its own warm-up. */
    private void ceilingWarmUp(DynamoDbAsyncClient db) {
        double rate = ceiling(db, 8, "bench_warmup", Math.min(messages, 5000));
        log("ceiling warm-up: %.0f items/s", rate);
    }

    private double ceiling(DynamoDbAsyncClient db, int concurrency) {
        return ceiling(db, concurrency, "bench_ceiling_" + concurrency, messages);
    }

    private double ceiling(DynamoDbAsyncClient db, int concurrency, String table, int messages) {
        createTable(db, table, "msgid");
        List<WriteRequest> all = new ArrayList<>(messages);
        long arrived = System.currentTimeMillis() / 1000;
        EmqxMsgId ids = new EmqxMsgId();
        for (int i = 0; i < messages; i++) {
            Map<String, AttributeValue> item = new HashMap<>();
            item.put("msgid", AttributeValue.fromS(ids.next()));
            item.put("topic", AttributeValue.fromS(topic(i)));
            item.put("qos", AttributeValue.fromN("1"));
            item.put("sender", AttributeValue.fromS("bench-pub"));
            item.put("retain", AttributeValue.fromN("0"));
            item.put("arrived", AttributeValue.fromN(Long.toString(arrived)));
            item.put("payload", AttributeValue.fromS(payload(i)));
            all.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
        }
        Semaphore permits = new Semaphore(concurrency);
        AtomicInteger written = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        long start = System.nanoTime();
        long deadline = start + maxWait.toNanos();
        for (int from = 0; from < all.size() && System.nanoTime() < deadline; from += 25) {
            List<WriteRequest> batch = all.subList(from, Math.min(all.size(), from + 25));
            permits.acquireUninterruptibly();
            writeBatch(db, table, batch, 0).whenComplete((n, failure) -> {
                if (failure != null) {
                    failures.incrementAndGet();
                } else {
                    written.addAndGet(n);
                }
                permits.release();
            });
        }
        try {
            if (!permits.tryAcquire(concurrency, stall.toSeconds(), TimeUnit.SECONDS)) {
                log("ceiling: writes still running after %d s", stall.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failures.get() > 0) {
            log("ceiling: %d batches failed", failures.get());
        }
        db.deleteTable(b -> b.tableName(table)).exceptionally(e -> null).join();
        return written.get() / seconds;
    }

    /** Writes a batch, retrying its unprocessed items with a short back-off; completes with the count written. */
    private static CompletableFuture<Integer> writeBatch(DynamoDbAsyncClient db, String table,
            List<WriteRequest> batch, int attempt) {
        return db.batchWriteItem(b -> b.requestItems(Map.of(table, batch))).thenCompose(response -> {
            List<WriteRequest> left = response.unprocessedItems().getOrDefault(table, List.of());
            int done = batch.size() - left.size();
            if (left.isEmpty() || attempt >= 50) {
                return CompletableFuture.completedFuture(done);
            }
            return CompletableFuture.supplyAsync(() -> null,
                    CompletableFuture.delayedExecutor(Math.min(500, 10L << Math.min(attempt, 5)),
                            TimeUnit.MILLISECONDS))
                    .thenCompose(x -> writeBatch(db, table, left, attempt + 1))
                    .thenApply(n -> done + n);
        });
    }

    // ---------------------------------------------------------------- persisted

    /** msgItems: mqtt_msg items when complete, distinct messages stored when not. */
    private record Persisted(boolean complete, long endNanos, long msgItems, long setEntries, long intervalMs,
            double pollMillisAvg) {
    }

    /**
     * Waits until the service has acknowledged (so stored) {@code expected} messages after the warm-up: it
     * took that many from the broker and holds none unacknowledged. A PUBACK goes out only once a message's
     * items are in DynamoDB, so this is "persisted" without loading dynalite with polls; {@link #verify}
     * then checks with a full scan that each message is there once.
     */
    private Persisted awaitPersisted(DynamoDbAsyncClient db, Service service, long expected, long start,
            CompletableFuture<Void> publishing) {
        long end = awaitAcknowledged(service, warmupMessages + expected, start);
        if (publishing.isCompletedExceptionally()) {
            log("publishing failed: %s", publishing.handle((v, e) -> e).join());
        }
        if (end > 0) {
            return new Persisted(true, end, expected, -1, POLL_MS, 0);
        }
        long stored = distinctSeqs(db)[0];
        log("gave up waiting: %d of %d messages stored", stored, expected);
        return new Persisted(false, lastProgressNanos, stored, -1, POLL_MS, 0);
    }

    /**
     * How often the service's metrics are read while it works. Each read renders the whole Prometheus page in the
     * service: every 50 ms that was 7 % of its CPU in the client-event storm (a JFR profile), which is the
     * benchmark's cost, not the service's. The end of a run is seen within this much.
     */
    private static final long POLL_MS = 200;
    private long lastProgressNanos;

    /**
     * Polls the service's metrics until it took {@code received} messages in all and holds none
     * unacknowledged; the time it saw that (System.nanoTime), or 0 when it stalled or ran out of time.
     */
    private long awaitAcknowledged(Service service, long received, long start) {
        long deadline = start + maxWait.toNanos();
        Stall stalled = new Stall(received);
        lastProgressNanos = start;
        long[] last = {-1};
        long[] seenAt = {0};
        poll(Duration.ofMillis(POLL_MS), () -> {
            String metrics = service.get("/q/metrics").orElse("");
            long taken = (long) PrometheusText.value(metrics, "mqtt_dynamo_events_received_total{channel=\"messages\"}");
            long holding = (long) PrometheusText.value(metrics,
                    "mqtt_dynamo_unacknowledged_messages{channel=\"messages\"}");
            long now = System.nanoTime();
            if (taken >= received && holding == 0) {
                seenAt[0] = now;
                return true;
            }
            long acknowledged = taken - holding;
            if (acknowledged != last[0]) {
                last[0] = acknowledged;
                lastProgressNanos = now;
            }
            if (stalled.check(acknowledged, now) || now > deadline) {
                log("no progress: %d taken, %d unacknowledged, %d expected", taken, holding, received);
                return true;
            }
            return false;
        });
        return seenAt[0];
    }

    private static long setEntries(DynamoDbAsyncClient db, String table) {
        long entries = 0;
        Map<String, AttributeValue> startKey = null;
        do {
            ScanRequest.Builder request = ScanRequest.builder().tableName(table).projectionExpression("MsgId");
            if (startKey != null) {
                request.exclusiveStartKey(startKey);
            }
            ScanResponse page = db.scan(request.build()).join();
            for (Map<String, AttributeValue> item : page.items()) {
                AttributeValue set = item.get("MsgId");
                entries += set != null && set.hasSs() ? set.ss().size() : 0;
            }
            startKey = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey()
                    : null;
        } while (startKey != null);
        return entries;
    }

    private static long countItems(DynamoDbAsyncClient db, String table) {
        long count = 0;
        Map<String, AttributeValue> startKey = null;
        do {
            ScanRequest.Builder request = ScanRequest.builder().tableName(table).select(Select.COUNT);
            if (startKey != null) {
                request.exclusiveStartKey(startKey);
            }
            ScanResponse page = db.scan(request.build()).join();
            count += page.count();
            startKey = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey()
                    : null;
        } while (startKey != null);
        return count;
    }

    /** Full scan: distinct sequence numbers stored vs sent, duplicates, MsgId set entries. */
    private void verify(DynamoDbAsyncClient db, ObjectNode out) {
        long[] counts = distinctSeqs(db);
        long distinct = counts[0];
        long items = counts[1];
        out.put("stored", distinct);
        out.put("lost", messages - distinct);
        out.put("duplicates", items - distinct);
        out.put("unrecognised_items", counts[2]);
        out.put("msgid_set_entries", setEntries(db, "mqtt_topic_msg_map"));
        log("verified: %d of %d stored, %d duplicates", distinct, messages, items - distinct);
    }

    /** {distinct sequence numbers of this run's messages, their items, other items} in mqtt_msg. */
    private long[] distinctSeqs(DynamoDbAsyncClient db) {
        int[] seen = new int[messages];
        long items = 0;
        long foreign = 0;
        Map<String, AttributeValue> startKey = null;
        do {
            ScanRequest.Builder request = ScanRequest.builder().tableName("mqtt_msg")
                    .projectionExpression("#p").expressionAttributeNames(Map.of("#p", "payload"));
            if (startKey != null) {
                request.exclusiveStartKey(startKey);
            }
            ScanResponse page = db.scan(request.build()).join();
            for (Map<String, AttributeValue> item : page.items()) {
                long seq = seq(item.get("payload"));
                if (seq >= 0 && seq < messages) {
                    seen[(int) seq]++;
                    items++;
                } else {
                    foreign++;
                }
            }
            startKey = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey()
                    : null;
        } while (startKey != null);
        return new long[] {Arrays.stream(seen).filter(n -> n > 0).count(), items, foreign};
    }

    private static long seq(AttributeValue payload) {
        if (payload == null || payload.s() == null) {
            return -1;
        }
        String text = payload.s();
        int at = text.indexOf("\"seq\":");
        if (at < 0) {
            return -1;
        }
        int from = at + 6;
        int to = from;
        while (to < text.length() && Character.isDigit(text.charAt(to))) {
            to++;
        }
        return to > from ? Long.parseLong(text.substring(from, to)) : -1;
    }

    private static void reconnects(ObjectNode out, Service service, String metrics) throws IOException {
        double metric = 0;
        String metricName = null;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String name = line.split("[{ ]", 2)[0];
            if (name.toLowerCase().contains("reconnect")) {
                metricName = name;
                metric += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        long logged = service.log().lines().filter(l -> DISCONNECTED.matcher(l).find()).count();
        if (metricName != null) {
            out.put("reconnects", (long) metric);
            out.put("reconnects_source", "metric " + metricName);
        } else {
            out.put("reconnects", logged);
            out.put("reconnects_source", "log lines 'MQTT channel .* disconnected'");
        }
        out.put("disconnected_log_lines", logged);
    }

    // ---------------------------------------------------------------- latency

    private void latency(String mode, ObjectNode out, Mosquitto broker, DynaliteServer dynalite, double rate,
            String clientId) throws Exception {
        // At most about a minute of publishing, whatever the rate.
        int count = (int) Math.min(latencyMessages, Math.max(100, rate * 60));
        log("latency: %d messages at %.0f msgs/s", count, rate);
        // Straight to dynalite: the service's own publish-to-persisted histogram (mqtt_dynamo_persist_latency)
        // measures, from the message's arrival (raw) or the broker's publish_received_at (envelope) to the last
        // write it needs. An observing proxy in between could not carry half the rate on two cores.
        Service service = track(Service.start(dir, mode + "-latency", environment(mode, clientId + "-lat",
                broker.port, dynalite.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        Publisher publisher = track(connectPublisher(broker.port, "bench-lat-pub-" + run + "-" + mode));
        double unitsBefore = writeUnits(service);
        CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> publisher.publishAll(mode,
                LATENCY_SEQ_BASE, count, rate, null));
        boolean all = awaitAcknowledged(service, count, System.nanoTime()) > 0;
        finish(publishing);
        out.put("latency_rate_msgs_per_s", round(rate, 0));
        out.put("latency_messages", count);
        out.put("latency_complete", all);
        // From its cumulative histogram buckets (the exported quantiles decay within minutes); the service was
        // started for this phase, so they hold this phase only.
        String metrics = service.get("/q/metrics").orElse("");
        out.put("service_p50_ms", bucketQuantileMillis(metrics, 0.50));
        out.put("service_p99_ms", bucketQuantileMillis(metrics, 0.99));
        out.put("wcu_per_msg_half_load", round((writeUnits(service) - unitsBefore) / count, 2));
        out.put("latency_reconnects_log_lines", service.log().lines().filter(l -> DISCONNECTED.matcher(l).find())
                .count());
        log("latency: p50 %s ms, p99 %s ms (the service's histogram)", out.get("service_p50_ms"),
                out.get("service_p99_ms"));
        service.stop();
        steady(mode, out, broker, dynalite, clientId);
    }

    /**
     * The bill at steady state: once every topic's MsgId set is full, a trickle of single messages (nothing folds
     * into a shared request), write units from what DynamoDB reported for each write.
     */
    private void steady(String mode, ObjectNode out, Mosquitto broker, DynaliteServer dynalite, String clientId)
            throws Exception {
        // A service of its own, through a proxy that counts the bytes of DynamoDB's answers (a trickle it carries).
        DynamoDbProxy proxy = track(DynamoDbProxy.start(dynalite.endpoint()));
        java.util.concurrent.atomic.LongAdder responseBytes = new java.util.concurrent.atomic.LongAdder();
        proxy.onExchange(exchange -> responseBytes.add(exchange.responseBody().getBytes(StandardCharsets.UTF_8).length));
        Service service = track(Service.start(dir, mode + "-steady", environment(mode, clientId + "-steady",
                broker.port, proxy.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        Publisher publisher = track(connectPublisher(broker.port, "bench-steady-pub-" + run + "-" + mode));
        int count = Math.max(100, 2 * topics);
        long bytesBefore = responseBytes.sum();
        double unitsBefore = writeUnits(service);
        publisher.publishAll(mode, STEADY_SEQ_BASE, count, 40, null);
        awaitAcknowledged(service, count, System.nanoTime());
        out.put("steady_messages", count);
        out.put("wcu_per_msg_steady", round((writeUnits(service) - unitsBefore) / count, 2));
        out.put("response_bytes_per_msg", round((double) (responseBytes.sum() - bytesBefore) / count, 0));
        log("steady state: %s write units and %s answer bytes per message", out.get("wcu_per_msg_steady"),
                out.get("response_bytes_per_msg"));
        service.stop();
    }

    /**
     * The upper bound (ms) of the first histogram bucket of mqtt_dynamo_persist_latency (messages channel) that
     * holds the quantile {@code q} of all recorded; null without samples.
     */
    private static Double bucketQuantileMillis(String metrics, double q) {
        String prefix = "mqtt_dynamo_persist_latency_seconds_bucket{channel=\"messages\",le=\"";
        java.util.TreeMap<Double, Double> buckets = new java.util.TreeMap<>();
        for (String line : metrics.split("\\n")) {
            if (line.startsWith(prefix)) {
                String le = line.substring(prefix.length(), line.indexOf('"', prefix.length()));
                double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
                buckets.put(bound, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        if (buckets.isEmpty() || buckets.lastEntry().getValue() == 0) {
            return null;
        }
        double total = buckets.lastEntry().getValue();
        for (Map.Entry<Double, Double> bucket : buckets.entrySet()) {
            if (bucket.getValue() >= q * total) {
                return round(bucket.getKey() * 1000, 1);
            }
        }
        return null;
    }

    /** The write units DynamoDB reported for the service's writes so far, over all tables. */
    private static double writeUnits(Service service) {
        String metrics = service.get("/q/metrics").orElse("");
        double sum = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("mqtt_dynamo_consumed_write_units_total{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** Waits for the publisher to finish, at most twice the stall time (it gives up by itself after that). */
    private void finish(CompletableFuture<Void> publishing) {
        try {
            publishing.get(2 * Math.max(1, stall.toSeconds()) + 5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            log("publisher still running; going on");
        } catch (java.util.concurrent.ExecutionException e) {
            log("publisher failed: %s", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- naive bridge

    /**
     * A hand-written bridge as one would write it: a QoS 1 subscriber that, for each message in turn, does a
     * PutItem and an UpdateItem ADD and then acknowledges.
     */
    private Double naiveBridge(DynamoDbAsyncClient db, int brokerPort) throws Exception {
        createTable(db, "naive_msg", "msgid");
        createTable(db, "naive_topic_msg_map", "topic");
        log("naive bridge: %d messages", messages);
        AtomicInteger written = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        EmqxMsgId ids = new EmqxMsgId();
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "naive-bridge");
            thread.setDaemon(true);
            return thread;
        });
        track(worker::shutdownNow);
        Mqtt5AsyncClient subscriber = MqttClient.builder().useMqttVersion5().identifier("bench-naive-" + run)
                .serverHost("127.0.0.1").serverPort(brokerPort).buildAsync();
        subscriber.publishes(MqttGlobalPublishFilter.SUBSCRIBED, publish -> {
            String msgId = ids.next();
            String topic = publish.getTopic().toString();
            try {
                db.putItem(b -> b.tableName("naive_msg").item(Map.of(
                        "msgid", AttributeValue.fromS(msgId),
                        "topic", AttributeValue.fromS(topic),
                        "qos", AttributeValue.fromN("1"),
                        "sender", AttributeValue.fromS(""),
                        "retain", AttributeValue.fromN("0"),
                        "arrived", AttributeValue.fromN(Long.toString(System.currentTimeMillis() / 1000)),
                        "payload", AttributeValue.fromS(new String(publish.getPayloadAsBytes(),
                                StandardCharsets.UTF_8))))).join();
                db.updateItem(b -> b.tableName("naive_topic_msg_map")
                        .key(Map.of("topic", AttributeValue.fromS(topic)))
                        .updateExpression("ADD MsgId :id")
                        .expressionAttributeValues(Map.of(":id", AttributeValue.fromSs(List.of(msgId))))).join();
                written.incrementAndGet();
                publish.acknowledge();
            } catch (RuntimeException e) {
                failures.incrementAndGet();
                publish.acknowledge();
            }
        }, worker, true);
        subscriber.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        track(() -> subscriber.disconnect().get(5, TimeUnit.SECONDS));
        subscriber.subscribeWith().topicFilter("bench/#").qos(MqttQos.AT_LEAST_ONCE).send().get(30, TimeUnit.SECONDS);
        Publisher publisher = track(connectPublisher(brokerPort, "bench-naive-pub-" + run));
        long start = System.nanoTime();
        CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> publisher.publishAll("raw", 0,
                messages, 0, null));
        long[] lastProgress = {start};
        int[] last = {-1};
        long[] end = {0};
        Stall stalled = new Stall(messages);
        poll(Duration.ofMillis(50), () -> {
            int now = written.get() + failures.get();
            long t = System.nanoTime();
            if (now >= messages) {
                end[0] = t;
                return true;
            }
            if (now != last[0]) {
                last[0] = now;
                lastProgress[0] = t;
            }
            if (stalled.check(now, t) || t - start > maxWait.toNanos()) {
                log("naive bridge: gave up with %d of %d written", now, messages);
                end[0] = lastProgress[0];
                return true;
            }
            return false;
        });
        finish(publishing);
        if (failures.get() > 0) {
            log("naive bridge: %d writes failed", failures.get());
        }
        return round(written.get() / ((end[0] - start) / 1e9), 0);
    }

    // ---------------------------------------------------------------- publisher

    private Publisher connectPublisher(int port, String clientId) throws Exception {
        Mqtt5AsyncClient client = MqttClient.builder().useMqttVersion5().identifier(clientId)
                .serverHost("127.0.0.1").serverPort(port).buildAsync();
        client.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        return new Publisher(client, clientId);
    }

    /** One MQTT 5 client publishing QoS 1 with up to {@value #MAX_IN_FLIGHT} unacknowledged messages. */
    private final class Publisher implements AutoCloseable {
        private final Mqtt5AsyncClient client;
        private final AtomicLong errors = new AtomicLong();
        private final long node = ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFF_FFFFL;
        private final String clientId;

        private Publisher(Mqtt5AsyncClient client, String clientId) {
            this.client = client;
            this.clientId = clientId;
        }


        /**
         * Publishes {@code count} messages with sequence numbers from {@code base}; paced at {@code rate} per
         * second when positive; records System.nanoTime() before each publish in {@code times} when given.
         */
        void publishAll(String mode, long base, int count, double rate, long[] times) {
            Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
            long start = System.nanoTime();
            long micros = System.currentTimeMillis() * 1000;
            for (int i = 0; i < count; i++) {
                if (rate > 0) {
                    long due = start + (long) (i * 1e9 / rate);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LockSupportSleep.nanos(wait);
                    }
                }
                try {
                    if (!inFlight.tryAcquire(stall.toSeconds(), TimeUnit.SECONDS)) {
                        log("publisher: no PUBACK for %d s, stopping at %d of %d", stall.toSeconds(), i, count);
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long seq = base + i;
                String topic = topic(i);
                byte[] body = mode.equals("envelope")
                        ? envelope(seq, topic, micros + i).getBytes(StandardCharsets.UTF_8)
                        : payload(seq).getBytes(StandardCharsets.UTF_8);
                if (times != null) {
                    times[i] = System.nanoTime();
                }
                client.publishWith().topic(mode.equals("envelope") ? ENVELOPE_TOPIC : topic)
                        .qos(MqttQos.AT_LEAST_ONCE).payload(body).send()
                        .whenComplete((result, failure) -> {
                            if (failure != null || result.getError().isPresent()) {
                                errors.incrementAndGet();
                            }
                            inFlight.release();
                        });
            }
            try {
                if (!inFlight.tryAcquire(MAX_IN_FLIGHT, stall.toSeconds(), TimeUnit.SECONDS)) {
                    log("publisher: PUBACKs missing after %d s", stall.toSeconds());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** The EMQX rule envelope a broker would republish for this message. */
        private String envelope(long seq, String topic, long micros) {
            byte[] guid = new byte[16];
            java.nio.ByteBuffer.wrap(guid).putLong(micros).putLong(node << 16 | (seq & 0xFFFF));
            ObjectNode envelope = JSON.createObjectNode();
            envelope.put("id", HexFormat.of().formatHex(guid));
            envelope.put("clientid", clientId);
            envelope.put("username", "");
            envelope.put("topic", topic);
            envelope.put("qos", 1);
            envelope.putObject("flags").put("retain", false).put("dup", false);
            envelope.put("payload", payload(seq));
            envelope.put("publish_received_at", micros / 1000);
            envelope.put("timestamp", micros / 1000);
            envelope.put("node", "bench@127.0.0.1");
            try {
                return new ObjectMapper().writeValueAsString(envelope);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws Exception {
            client.disconnect().get(5, TimeUnit.SECONDS);
        }
    }

    // ---------------------------------------------------------------- processes

    /** A Mosquitto of the benchmark's own, on a free 127.0.0.1 port. */
    private static final class Mosquitto implements AutoCloseable {
        final Process process;
        final int port;

        private Mosquitto(Process process, int port) {
            this.process = process;
            this.port = port;
        }

        static Mosquitto start(Path dir, String name) throws Exception {
            int port = LocalDynamoDbResource.freePort();
            Path conf = dir.resolve("mosquitto-" + name + ".conf");
            // Queue (nearly) without limit for the service's session; in-flight: Mosquitto's default unless set.
            String inflight = System.getProperty("bench.brokerMaxInflight", "");
            Files.writeString(conf, String.join("\n",
                    "listener " + port + " 127.0.0.1",
                    "allow_anonymous true",
                    "persistence false",
                    "max_queued_messages 10000000",
                    inflight.isBlank() ? "" : "max_inflight_messages " + inflight,
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    ""));
            Process process = new ProcessBuilder("/usr/sbin/mosquitto", "-c", conf.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("mosquitto-" + name + ".log").toFile())
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "mosquitto-stop"));
            try {
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                        .until(() -> answers(port) || !process.isAlive());
            } catch (ConditionTimeoutException e) {
                // Reported below.
            }
            if (!answers(port)) {
                process.destroyForcibly();
                throw new IOException("Mosquitto did not start on port " + port + "; see "
                        + dir.resolve("mosquitto-" + name + ".log"));
            }
            return new Mosquitto(process, port);
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** The packaged service ({@code java -jar target/quarkus-app/quarkus-run.jar}), its output in a log file. */
    private static final class Service implements AutoCloseable {
        final Process process;
        final int httpPort;
        final Path log;

        private Service(Process process, int httpPort, Path log) {
            this.process = process;
            this.httpPort = httpPort;
            this.log = log;
        }

        static Service start(Path dir, String name, Map<String, String> env) throws IOException {
            Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
            if (!Files.exists(jar)) {
                throw new IOException(jar + " is missing: package first (./mvnw -Pbench verify does)");
            }
            int httpPort = LocalDynamoDbResource.freePort();
            Path log = dir.resolve("service-" + name + ".log");
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            // e.g. -Dbench.serviceJvmArgs=-XX:StartFlightRecording=filename=target/bench/service.jfr,settings=profile
            for (String arg : System.getProperty("bench.serviceJvmArgs", "").trim().split("\\s+")) {
                if (!arg.isEmpty()) {
                    command.add(arg.replace("{name}", name));
                }
            }
            command.add("-jar");
            command.add(jar.toString());
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            builder.environment().putAll(env);
            builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
            Process process = builder.start();
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "service-stop"));
            return new Service(process, httpPort, log);
        }

        void awaitReady(Duration timeout) throws Exception {
            try {
                await().atMost(timeout).pollInterval(Duration.ofMillis(250)).until(() -> {
                    if (!process.isAlive()) {
                        throw new IOException("the service exited with code " + process.exitValue() + "; see "
                                + log);
                    }
                    try {
                        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                                        + "/q/health/ready")).timeout(Duration.ofSeconds(5)).build(),
                                HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                    } catch (IOException e) {
                        return false; // not listening yet
                    }
                });
            } catch (ConditionTimeoutException e) {
                throw new IOException("the service was not ready within " + timeout.toSeconds() + " s; see " + log);
            }
        }

        Optional<String> get(String path) {
            try {
                return Optional.of(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body());
            } catch (IOException e) {
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }

        String log() throws IOException {
            return Files.readString(log);
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                stop();
            }
        }
    }

    private Map<String, String> environment(String mode, String clientId, int brokerPort, String dynamoEndpoint) {
        Map<String, String> env = new HashMap<>();
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", Integer.toString(brokerPort));
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", clientId);
        env.put("MQTT_DYNAMO_BROKER_SESSION_EXPIRY", "PT5M");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_MODE", mode);
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", mode.equals("raw") ? "bench/#" : ENVELOPE_TOPIC);
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "none");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", dynamoEndpoint);
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "bench");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "bench");
        // Default functions and settings: what a user's DynamoDB bill would be.
        return env;
    }

    // ---------------------------------------------------------------- helpers

    /** True once progress has not grown by 1 % of what is expected within the stall time. */
    private final class Stall {
        private final long step;
        private long mark = -1;
        private long markNanos = System.nanoTime();

        Stall(long expected) {
            this.step = Math.max(1, expected / 100);
        }

        boolean check(long progress, long now) {
            if (mark < 0 || progress >= mark + step) {
                mark = progress;
                markNanos = now;
            }
            return now - markNanos > stall.toNanos();
        }
    }

    private String topic(long i) {
        return "bench/sensor/" + (i % topics);
    }

    /** A JSON payload of {@code bench.payload} bytes carrying the sequence number and the send time. */
    private String payload(long seq) {
        String head = "{\"seq\":" + seq + ",\"sent_ms\":" + System.currentTimeMillis() + ",\"pad\":\"";
        int pad = Math.max(0, payloadBytes - head.length() - 2);
        return head + "x".repeat(pad) + "\"}";
    }

    private static void createTable(DynamoDbAsyncClient db, String table, String hashKey) {
        db.createTable(b -> b.tableName(table)
                .keySchema(KeySchemaElement.builder().attributeName(hashKey).keyType(KeyType.HASH).build())
                .attributeDefinitions(AttributeDefinition.builder().attributeName(hashKey)
                        .attributeType(ScalarAttributeType.S).build())
                .billingMode(BillingMode.PAY_PER_REQUEST)).join();
        db.waiter().waitUntilTableExists(b -> b.tableName(table)).join();
    }

    private static DynamoDbAsyncClient dynamoClient(String endpoint) {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().maxConcurrency(64))
                .build();
    }

    private <T extends AutoCloseable> T track(T resource) {
        synchronized (started) {
            started.push(resource);
        }
        return resource;
    }

    private void closeAll() {
        while (true) {
            AutoCloseable next;
            synchronized (started) {
                next = started.poll();
            }
            if (next == null) {
                return;
            }
            try {
                next.close();
            } catch (Exception e) {
                LOG.println("[bench] closing: " + e);
            }
        }
    }

    private static Optional<Long> childPid(String argsContain) {
        return ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().map(c -> c.contains(argsContain)).orElse(false))
                .map(ProcessHandle::pid).findFirst();
    }

    /** utime + stime of a process in clock ticks, 0 when it cannot be read. */
    private static long cpuTicks(long pid) {
        if (pid < 0) {
            return 0;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long peakRssKb(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                    .filter(l -> l.startsWith("VmHWM:"))
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                    .findFirst().orElse(0L);
        } catch (IOException e) {
            return 0;
        }
    }

    private double ticksToMs(long ticks) {
        return ticks * 1000.0 / clockTicks;
    }

    private static long clockTicks() {
        try {
            Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            getconf.waitFor(5, TimeUnit.SECONDS);
            return Long.parseLong(out);
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    private static ObjectNode machine() throws IOException {
        ObjectNode machine = JSON.createObjectNode();
        machine.put("nproc", Runtime.getRuntime().availableProcessors());
        machine.put("cpu", Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                .findFirst().orElse("unknown"));
        machine.put("memory_mb", Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter(l -> l.startsWith("MemTotal:")).map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024)
                .findFirst().orElse(0L));
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        return machine;
    }

    private static boolean answers(int port) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Double round(double value, int decimals) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return null;
        }
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }

    /**
     * Runs {@code step} every {@code every} until it returns true; the step itself decides when to give up
     * (no progress for the stall time, or past its deadline), so the poll has no time limit of its own.
     */
    private static void poll(Duration every, Callable<Boolean> step) {
        await().forever().pollDelay(Duration.ZERO).pollInterval(every).until(step);
    }

    private static void log(String format, Object... args) {
        LOG.println("[bench] " + String.format(format, args));
    }

    private static final class LockSupportSleep {
        static void nanos(long nanos) {
            java.util.concurrent.locks.LockSupport.parkNanos(nanos);
        }
    }
}
