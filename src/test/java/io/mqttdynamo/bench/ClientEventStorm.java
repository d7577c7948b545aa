package io.mqttdynamo.bench;

import static io.mqttdynamo.bench.BenchSupport.log;
import static io.mqttdynamo.bench.BenchSupport.poll;
import static io.mqttdynamo.bench.BenchSupport.round;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.PrometheusText;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

/**
 * A storm of client events, as after a broker restart when every device reconnects: {@code bench.clientEvents}
 * EMQX {@code $SYS}-shaped events through Mosquitto (a connected event of each of half as many client ids, then a
 * disconnected one of each), default functions; until every event is stored and the client counters say so (known =
 * ids, online = 0). Events per second against dynalite's own ceiling of conditional updates, CPU and write units
 * per event.
 */
final class ClientEventStorm {

    private static final String EVENTS = "bench-sys/brokers/bench@127.0.0.1/clients/";
    private static final long POLL_MS = 200;

    private final BenchSettings settings;
    private final int clientEvents;
    private final Function<AutoCloseable, AutoCloseable> track;
    private final ProcessProbes processes = new ProcessProbes();

    ClientEventStorm(BenchSettings settings, int clientEvents, Function<AutoCloseable, AutoCloseable> track) {
        this.settings = settings;
        this.clientEvents = clientEvents;
        this.track = track;
    }

    @SuppressWarnings("unchecked")
    private <T extends AutoCloseable> T tracked(T resource) {
        return (T) track.apply(resource);
    }

    void run(ObjectNode out, Map<String, String> env) throws Exception {
        int clients = clientEvents / 2;
        out.put("events", clients * 2).put("client_ids", clients);
        log("client events: starting Mosquitto and dynalite");
        BenchMosquitto broker = tracked(BenchMosquitto.start(settings.dir(), "client-events"));
        int dynamoPort = LocalDynamoDbResource.freePort();
        DynaliteServer dynalite =
                tracked(DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort, Optional.empty()));
        long dynalitePid = ProcessProbes.childPid("--port " + dynamoPort).orElse(-1L);
        DynamoDbAsyncClient db = tracked(BenchSupport.dynamoClient(dynalite.endpoint()));
        // What this dynalite takes of the one kind of request an event needs, a conditional UpdateItem of one
        // client item, sent straight to it, 16 at a time: the ceiling the storm is compared with.
        BenchSupport.createTable(db, "bench_updates", "clientid");
        updateCeiling(db, Math.min(clients, 2_000), 16);
        double ceiling = updateCeiling(db, Math.min(clients, 10_000), 16);
        out.put("ceiling_updates_per_s", round(ceiling, 0));
        log("client events: dynalite takes %.0f conditional updates/s", ceiling);
        env.put("MQTT_DYNAMO_BROKER_PORT", Integer.toString(broker.port));
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", dynalite.endpoint());
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "emqx5");
        env.put("MQTT_DYNAMO_EVENTS_TOPIC", "bench-sys/brokers/+/clients/#");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", "bench-no-messages/#");
        BenchService service = tracked(BenchService.start(settings.dir(), "client-events", env));
        service.awaitReady(Duration.ofSeconds(120));
        Mqtt5AsyncClient client = MqttClient.builder()
                .useMqttVersion5()
                .identifier("bench-events-" + settings.run())
                .serverHost("127.0.0.1")
                .serverPort(broker.port)
                .buildAsync();
        client.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        try {
            // Warm-up under other client ids: the JIT's work is not the cost of an event.
            int warmup = Math.min(clients, 2_000);
            publishEvents(client, "warm-", warmup);
            awaitClientEvents(service, 2L * warmup);
            double unitsBefore = ServiceProbes.writeUnits(service);
            long[] cpuBefore = {ProcessProbes.cpuTicks(service.process.pid()), ProcessProbes.cpuTicks(dynalitePid)};
            long start = System.nanoTime();
            CompletableFuture<Void> publishing =
                    CompletableFuture.runAsync(() -> publishEvents(client, "dev-", clients));
            long end = awaitClientEvents(service, 2L * warmup + 2L * clients);
            long[] cpuAfter = {ProcessProbes.cpuTicks(service.process.pid()), ProcessProbes.cpuTicks(dynalitePid)};
            BenchSupport.finish(publishing, settings.stall());
            double seconds = ((end > 0 ? end : System.nanoTime()) - start) / 1e9;
            double rate = 2.0 * clients / seconds;
            double per10k = 10_000.0 / (2.0 * clients);
            out.put("complete", end > 0);
            out.put("events_per_s", round(rate, 0));
            out.put("ratio_to_ceiling", ceiling > 0 ? round(rate / ceiling, 2) : null);
            out.put("seconds", round(seconds, 2));
            out.put("service_cpu_ms_per_10k", round(processes.ticksToMs(cpuAfter[0] - cpuBefore[0]) * per10k, 0));
            out.put(
                    "dynalite_cpu_ms_per_10k",
                    dynalitePid < 0 ? null : round(processes.ticksToMs(cpuAfter[1] - cpuBefore[1]) * per10k, 0));
            out.put("wcu_per_event", round((ServiceProbes.writeUnits(service) - unitsBefore) / (2.0 * clients), 2));
            long[] counted = clientCounters(db);
            out.put("counted_known", counted[0]).put("counted_online", counted[1]);
            out.put("counters_right", counted[0] == warmup + clients && counted[1] == 0);
            log("client events: %.0f events/s, counters known %d online %d", rate, counted[0], counted[1]);
        } finally {
            client.disconnect();
        }
    }

    /** Conditional updates of {@code count} items, {@code concurrency} at a time, per second. */
    private static double updateCeiling(DynamoDbAsyncClient db, int count, int concurrency) {
        Semaphore window = new Semaphore(concurrency);
        String round = Long.toHexString(System.nanoTime());
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long now = System.currentTimeMillis();
            String clientId = "ceiling-" + round + "-" + i;
            window.acquireUninterruptibly();
            db.updateItem(b -> b.tableName("bench_updates")
                            .key(Map.of("clientid", AttributeValue.fromS(clientId)))
                            .updateExpression(
                                    "SET connect_state = :one, online_at = :at, offline_at = :zero, node = :node")
                            .conditionExpression("attribute_not_exists(online_at) OR online_at <= :at")
                            .expressionAttributeValues(Map.of(
                                    ":one",
                                    AttributeValue.fromN("1"),
                                    ":zero",
                                    AttributeValue.fromN("0"),
                                    ":at",
                                    AttributeValue.fromN(Long.toString(now)),
                                    ":node",
                                    AttributeValue.fromS("bench@127.0.0.1"))))
                    .whenComplete((ok, failure) -> window.release());
        }
        window.acquireUninterruptibly(concurrency);
        return count / ((System.nanoTime() - start) / 1e9);
    }

    /** A connected event of each of {@code clients} ids, then a disconnected one of each; QoS 1, bounded in flight. */
    private void publishEvents(Mqtt5AsyncClient client, String prefix, int clients) {
        Semaphore window = new Semaphore(BenchPublisher.MAX_IN_FLIGHT);
        for (String kind : List.of("connected", "disconnected")) {
            for (int i = 0; i < clients; i++) {
                String clientId = prefix + settings.run() + "-" + i;
                long now = System.currentTimeMillis();
                String payload = kind.equals("connected")
                        ? "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"ts\":" + now + ",\"connected_at\":"
                                + now + ",\"proto_ver\":5,\"keepalive\":60}"
                        : "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"reason\":\"normal\",\"ts\":" + now
                                + ",\"disconnected_at\":" + now + "}";
                window.acquireUninterruptibly();
                client.publishWith()
                        .topic(EVENTS + clientId + "/" + kind)
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .payload(payload.getBytes(StandardCharsets.UTF_8))
                        .send()
                        .whenComplete((ack, failure) -> window.release());
            }
        }
        window.acquireUninterruptibly(BenchPublisher.MAX_IN_FLIGHT);
    }

    /** Until the client-events channel took {@code received} events and holds none unacknowledged; 0 on a stall. */
    private long awaitClientEvents(BenchService service, long received) {
        long deadline = System.nanoTime() + settings.maxWait().toNanos();
        BenchSupport.Stall stalled = new BenchSupport.Stall(received, settings.stall());
        long[] seenAt = {0};
        poll(Duration.ofMillis(POLL_MS), () -> {
            String metrics = service.get("/q/metrics").orElse("");
            long taken = (long)
                    PrometheusText.value(metrics, "mqtt_dynamo_events_received_total{channel=\"client-events\"}");
            long holding = (long)
                    PrometheusText.value(metrics, "mqtt_dynamo_unacknowledged_messages{channel=\"client-events\"}");
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
            ScanResponse page = db.scan(ScanRequest.builder()
                            .tableName("mqtt_dynamo_stats")
                            .exclusiveStartKey(start)
                            .build())
                    .join();
            for (Map<String, AttributeValue> item : page.items()) {
                if (item.get("name").s().startsWith("clients#")) {
                    sums[0] += item.containsKey("known")
                            ? Long.parseLong(item.get("known").n())
                            : 0;
                    sums[1] += item.containsKey("online")
                            ? Long.parseLong(item.get("online").n())
                            : 0;
                }
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return sums;
    }
}
