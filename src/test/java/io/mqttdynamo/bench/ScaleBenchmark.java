package io.mqttdynamo.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import io.mqttdynamo.store.Indexes;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.PrometheusText;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The dashboard and the API at scale: loads {@code scale.clients} clients (default 1,000,000; 0.1 % online)
 * straight into a fresh local dynalite with the attributes the service writes (index attributes, counters),
 * starts the packaged service on it, and prints JSON: time to ready and to correct counts, and per view its
 * latency and what it read (items and read capacity, from the service's metrics).
 *
 * <pre>./mvnw -Pscale verify -DskipTests            # 1,000,000 clients
 * ./mvnw -Pscale verify -DskipTests -Dscale.clients=200000</pre>
 */
public final class ScaleBenchmark {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final int RUNS = 20;

    private ScaleBenchmark() {}

    public static void main(String[] args) throws Exception {
        int clients = Integer.getInteger("scale.clients", 1_000_000);
        int onlineEvery = Integer.getInteger("scale.online-every", 1000);
        Path out = Path.of(System.getProperty("scale.out", "target/scale-benchmark.json"));
        int dynamoPort = LocalDynamoDbResource.freePort();
        Process dynalite = startDynalite(dynamoPort);
        Process service = null;
        try (DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + dynamoPort))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .build()) {
            for (Tables table : Tables.values()) {
                dynamo.createTable(table.createRequest()).get(30, TimeUnit.SECONDS);
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("clients", clients);
            long loadStart = System.nanoTime();
            long online = load(dynamo, clients, onlineEvery);
            result.put("onlineClients", online);
            result.put("loadSeconds", round((System.nanoTime() - loadStart) / 1e9));
            log("loaded %d clients (%d online) in %.1f s", clients, online, (System.nanoTime() - loadStart) / 1e9);

            long probe = System.nanoTime();
            dynamo.listTables(b -> b.limit(1)).get(60, TimeUnit.SECONDS);
            result.put("listTablesAfterLoadMillis", (System.nanoTime() - probe) / 1_000_000);
            result.put("dynaliteRssMegabytes", rssMegabytes(dynalite));
            int httpPort = LocalDynamoDbResource.freePort();
            long started = System.nanoTime();
            service = startService(dynamoPort, httpPort);
            String base = "http://127.0.0.1:" + httpPort;
            awaitStatus(base + "/q/health/ready", 200, Duration.ofMinutes(3));
            long ready = System.nanoTime();
            result.put("startToReadyMillis", (ready - started) / 1_000_000);
            double itemsAtReady = metric(base, "mqtt_dynamo_items_read_total");
            result.put("itemsReadByStartUp", itemsAtReady);
            // counts: right once ready?
            long countsRight = -1;
            String firstStats = null;
            while (System.nanoTime() - ready < TimeUnit.SECONDS.toNanos(120)) {
                long asked = System.nanoTime();
                String stats = get(base + "/api/stats").body();
                if (firstStats == null) {
                    firstStats = stats;
                    result.put("firstStatsMillis", (System.nanoTime() - asked) / 1_000_000);
                }
                if (stats.contains("\"onlineClients\":" + online + ",")
                        && stats.contains("\"knownClients\":" + clients + ",")) {
                    countsRight = (System.nanoTime() - ready) / 1_000_000;
                    break;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            result.put("readyToCorrectCountsMillis", countsRight);
            result.put(
                    "firstStatsCorrect",
                    firstStats != null
                            && firstStats.contains("\"onlineClients\":" + online + ",")
                            && firstStats.contains("\"knownClients\":" + clients + ","));

            String someClient = clientId(onlineEvery * 7 + 3);
            String prefix = clientId(123_456 % clients).substring(0, 11);
            Map<String, String> views = new LinkedHashMap<>();
            views.put("home", "/");
            views.put("stats", "/api/stats");
            views.put("onlinePage", "/clients?online=true");
            views.put("onlineApi50", "/api/clients?online=true&limit=50");
            views.put("onlineApiSecondPage50", null);
            views.put("prefixSearch", "/api/clients?q=" + prefix + "&limit=50");
            views.put("prefixSearchPage", "/clients?q=" + prefix);
            views.put("clientPage", "/clients/" + someClient);
            views.put("clientApi", "/api/clients/" + someClient);
            String firstOnline = get(base + "/api/clients?online=true&limit=50").body();
            String next = firstOnline.replaceAll("(?s).*\"next\":\"([^\"]+)\".*", "$1");
            views.put("onlineApiSecondPage50", "/api/clients?online=true&limit=50&cursor=" + next);
            Map<String, Object> measured = new LinkedHashMap<>();
            for (Map.Entry<String, String> view : views.entrySet()) {
                measured.put(view.getKey(), measure(base, view.getValue()));
            }
            result.put("views", measured);
            result.put("prefix", prefix);
            String json = toJson(result);
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, json + "\n");
            System.out.println(json);
        } finally {
            if (service != null) {
                service.destroy();
                service.waitFor(30, TimeUnit.SECONDS);
            }
            dynalite.destroy();
        }
    }

    /** Client ids as devices often have them: a fixed prefix and a number. */
    static String clientId(int i) {
        return String.format(Locale.ROOT, "device-%07d", i);
    }

    /** BatchWriteItem of N clients (each {@code onlineEvery}-th online) and the counters, as the service writes them. */
    private static long load(DynamoDbAsyncClient dynamo, int clients, int onlineEvery) throws Exception {
        Semaphore inFlight = new Semaphore(8);
        long[] known = new long[Indexes.SHARDS];
        long[] online = new long[Indexes.SHARDS];
        long now = System.currentTimeMillis() / 1000;
        List<WriteRequest> batch = new ArrayList<>(25);
        List<CompletableFuture<?>> pending = new ArrayList<>();
        long onlineTotal = 0;
        for (int i = 0; i < clients; i++) {
            String id = clientId(i);
            String shard = Indexes.shardOf(id);
            boolean isOnline = i % onlineEvery == 0;
            Map<String, AttributeValue> item = new HashMap<>();
            item.put("clientid", AttributeValue.fromS(id));
            item.put("node", AttributeValue.fromS("emqx@10.0.0." + (i % 3 + 1)));
            item.put("connect_state", AttributeValue.fromN(isOnline ? "1" : "0"));
            item.put("online_at", AttributeValue.fromN(Long.toString(now - 3600 - i % 1000)));
            item.put("offline_at", AttributeValue.fromN(isOnline ? "0" : Long.toString(now - i % 1000)));
            item.put("client_shard", AttributeValue.fromS(shard));
            if (isOnline) {
                item.put("online_shard", AttributeValue.fromS(shard));
                online[Integer.parseInt(shard)]++;
                onlineTotal++;
            }
            known[Integer.parseInt(shard)]++;
            batch.add(WriteRequest.builder()
                    .putRequest(PutRequest.builder().item(item).build())
                    .build());
            if (batch.size() == 25 || i == clients - 1) {
                List<WriteRequest> requests = batch;
                batch = new ArrayList<>(25);
                inFlight.acquire();
                pending.add(write(dynamo, Map.of("mqtt_client", requests)).whenComplete((r, e) -> inFlight.release()));
                if (pending.size() > 1000) {
                    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                            .get();
                    pending.clear();
                }
            }
            if (i > 0 && i % 100_000 == 0) {
                log("%d clients loaded", i);
            }
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get();
        for (int s = 0; s < Indexes.SHARDS; s++) {
            Map<String, AttributeValue> counter = new HashMap<>(ItemWrite.Count.counterKey(Integer.toString(s)));
            counter.put("known", AttributeValue.fromN(Long.toString(known[s])));
            counter.put("online", AttributeValue.fromN(Long.toString(online[s])));
            dynamo.putItem(b -> b.tableName("mqtt_dynamo_stats").item(counter)).get(30, TimeUnit.SECONDS);
        }
        // the service keeps this table since it created it: nothing to bring into the indexes
        dynamo.putItem(b -> b.tableName("mqtt_dynamo_stats")
                        .item(Map.of("name", AttributeValue.fromS(io.mqttdynamo.store.ClientBackfill.MARKER))))
                .get(30, TimeUnit.SECONDS);
        return onlineTotal;
    }

    /** One BatchWriteItem, its unprocessed items sent again until none are left. */
    private static CompletableFuture<Void> write(DynamoDbAsyncClient dynamo, Map<String, List<WriteRequest>> items) {
        return dynamo.batchWriteItem(b -> b.requestItems(items))
                .thenCompose((BatchWriteItemResponse response) -> response.hasUnprocessedItems()
                                && !response.unprocessedItems().isEmpty()
                        ? write(dynamo, response.unprocessedItems())
                        : CompletableFuture.completedFuture(null));
    }

    /** Latency (ms, p50 and max of {@value #RUNS} runs after 3 warm-ups) and what one request read. */
    private static Map<String, Object> measure(String base, String path) throws Exception {
        for (int i = 0; i < 3; i++) {
            get(base + path);
        }
        double items = 0;
        double units = 0;
        List<Double> millis = new ArrayList<>();
        int status = 0;
        int bytes = 0;
        for (int i = 0; i < RUNS; i++) {
            double itemsBefore = metric(base, "mqtt_dynamo_items_read_total");
            double unitsBefore = metric(base, "mqtt_dynamo_read_capacity_units_total");
            long start = System.nanoTime();
            HttpResponse<String> response = get(base + path);
            millis.add((System.nanoTime() - start) / 1e6);
            status = response.statusCode();
            bytes = response.body().length();
            items += metric(base, "mqtt_dynamo_items_read_total") - itemsBefore;
            units += metric(base, "mqtt_dynamo_read_capacity_units_total") - unitsBefore;
        }
        millis.sort(null);
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("path", path.length() > 80 ? path.substring(0, 80) + "…" : path);
        view.put("status", status);
        view.put("p50Millis", round(millis.get(millis.size() / 2)));
        view.put("maxMillis", round(millis.get(millis.size() - 1)));
        view.put("itemsReadPerRequest", round(items / RUNS));
        view.put("readCapacityUnitsPerRequest", round(units / RUNS));
        view.put("responseChars", bytes);
        return view;
    }

    private static double metric(String base, String series) throws Exception {
        return PrometheusText.value(get(base + "/q/metrics").body(), series);
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void awaitStatus(String url, int status, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (get(url).statusCode() == status) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        throw new IllegalStateException(url + " did not answer " + status + " within " + timeout);
    }

    /** dynalite in memory, with a heap for a million items. */
    private static Process startDynalite(int port) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(
                        "node",
                        "local-dynamodb/node_modules/dynalite/cli.js",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        Integer.toString(port),
                        "--createTableMs",
                        "20",
                        "--deleteTableMs",
                        "20",
                        "--updateTableMs",
                        "20")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("NODE_OPTIONS", "--max-old-space-size=6144");
        Process process = builder.start();
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                return process;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw new IllegalStateException("dynalite did not start");
                }
                process.waitFor(50, TimeUnit.MILLISECONDS);
            }
        }
    }

    private static Process startService(int dynamoPort, int httpPort) throws IOException {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: package the service first (./mvnw package)");
        }
        ProcessBuilder builder = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString())
                .redirectErrorStream(true)
                .redirectOutput(Path.of("target", "scale-benchmark-service.log").toFile());
        Map<String, String> env = builder.environment();
        env.put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        // the broker at scale.broker-port (Mosquitto on 1883 by default), with sessions of the benchmark's own
        // that expire soon and take nothing from other clients' topics
        String run = Long.toHexString(System.nanoTime());
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", System.getProperty("scale.broker-port", "1883"));
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", "scale-benchmark-" + run);
        env.put("MQTT_DYNAMO_BROKER_SESSION_EXPIRY", "PT1M");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_MODE", "raw");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", "scale-benchmark/" + run + "/#");
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", "http://127.0.0.1:" + dynamoPort);
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "bench");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "bench");
        return builder.start();
    }

    /** Resident memory of a process (Linux), -1 where unknown. */
    private static long rssMegabytes(Process process) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }

    private static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }

    private static void log(String format, Object... args) {
        System.err.printf(Locale.ROOT, format + "%n", args);
    }

    private static String toJson(Object value) {
        if (value instanceof Map<?, ?> map) {
            StringBuilder json = new StringBuilder("{");
            map.forEach((k, v) -> json.append(json.length() > 1 ? ", " : "")
                    .append('"')
                    .append(k)
                    .append("\": ")
                    .append(toJson(v)));
            return json.append('}').toString();
        }
        if (value instanceof String s) {
            return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
        }
        return String.valueOf(value);
    }
}
