package io.mqttdynamo.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.zip.CRC32;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An HTTP/1.1 proxy between a DynamoDB client and a DynamoDB-compatible server (dynalite) on 127.0.0.1,
 * so that tests can make DynamoDB fail with the real SDK over real sockets and see what is stored.
 *
 * <p>Each request is forwarded with its method, path, body and headers (except hop-by-hop ones, Host and
 * Content-Length); the server's status, headers and body come back unchanged. The <em>operation</em> of a
 * request is the part of its {@code X-Amz-Target} header after the dot ({@code BatchWriteItem},
 * {@code UpdateItem}, ...).
 *
 * <ul>
 * <li>{@link #fault(Function)}: decides per request whether to answer with an error, delay it, or leave
 * part of a BatchWriteItem or a BatchGetItem unprocessed ({@link Fault}).</li>
 * <li>{@link #onExchange(Consumer)}: sees every answer given to the client ({@link Exchange}).</li>
 * <li>{@link #count(String)}: how many requests of an operation were forwarded to the server.</li>
 * </ul>
 *
 * Whenever the proxy makes or changes a body it recomputes the {@code x-amz-crc32} header the SDK checks.
 */
public final class DynamoDbProxy implements AutoCloseable {

    /** A request as the fault function sees it. */
    public record Request(String operation, String body) {}

    /**
     * One answer given to the client: the request's operation and body, the status and body returned, and
     * {@link System#nanoTime()} when the server's response was received (or the fault answered).
     */
    public record Exchange(String operation, String requestBody, int status, String responseBody, long receivedNanos) {}

    /** What to do with a request instead of just forwarding it. */
    public sealed interface Fault {

        /**
         * Answer with a DynamoDB-style error without forwarding, e.g.
         * {@code error(400, "ProvisionedThroughputExceededException", "...")} or
         * {@code error(500, "InternalServerError", "...")}.
         */
        static Fault error(int status, String awsErrorType, String message) {
            return new Error(status, awsErrorType, message);
        }

        /** Wait, then forward. */
        static Fault delay(Duration delay) {
            return new Delay(delay);
        }

        /**
         * For BatchWriteItem: forward the request without its last {@code n} write requests (counted over
         * all tables) and answer with the server's response whose {@code UnprocessedItems} holds them. For
         * BatchGetItem the same with its last {@code n} keys and {@code UnprocessedKeys} (each table's keys with
         * the request's consistency and projection, as DynamoDB returns them).
         */
        static Fault unprocessed(int n) {
            return new Unprocessed(n);
        }

        /**
         * Forward the request, so that the server applies it, then answer with this error instead of the server's
         * answer: a write whose outcome the client cannot know (a time-out or a 500 after the write was made).
         */
        static Fault appliedThenError(int status, String awsErrorType, String message) {
            return new AppliedThenError(status, awsErrorType, message);
        }

        record Error(int status, String awsErrorType, String message) implements Fault {}

        record AppliedThenError(int status, String awsErrorType, String message) implements Fault {}

        record Delay(Duration delay) implements Fault {}

        record Unprocessed(int n) implements Fault {}
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#";
    private static final String JSON_CONTENT_TYPE = "application/x-amz-json-1.0";
    /** Not forwarded: hop-by-hop, and what the JDK client sets itself. */
    private static final Set<String> REQUEST_SKIPPED = Set.of(
            "connection",
            "keep-alive",
            "proxy-authenticate",
            "proxy-authorization",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "host",
            "content-length",
            "expect");
    /** Not returned: hop-by-hop, and what the JDK server sets itself. */
    private static final Set<String> RESPONSE_SKIPPED = Set.of(
            "connection",
            "keep-alive",
            "proxy-authenticate",
            "proxy-authorization",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "content-length",
            "date");

    private final HttpServer server;
    private final ExecutorService executor;
    private final HttpClient client;
    private final URI target;
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final List<Consumer<Exchange>> observers = new CopyOnWriteArrayList<>();
    private volatile Function<Request, Fault> faults = request -> null;

    private DynamoDbProxy(HttpServer server, ExecutorService executor, HttpClient client, URI target) {
        this.server = server;
        this.executor = executor;
        this.client = client;
        this.target = target;
    }

    /** Starts a proxy on 127.0.0.1 and a free port that forwards to {@code targetEndpoint} (http://host:port). */
    public static DynamoDbProxy start(String targetEndpoint) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
        ExecutorService executor = Executors.newFixedThreadPool(48, runnable -> {
            Thread thread = new Thread(runnable, "dynamodb-proxy");
            thread.setDaemon(true);
            return thread;
        });
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        String base = targetEndpoint.endsWith("/")
                ? targetEndpoint.substring(0, targetEndpoint.length() - 1)
                : targetEndpoint;
        DynamoDbProxy proxy = new DynamoDbProxy(server, executor, client, URI.create(base));
        server.createContext("/", proxy::handle);
        server.setExecutor(executor);
        server.start();
        return proxy;
    }

    /** The proxy's endpoint URL for the DynamoDB client. */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Sets the fault function: called for each request, returns the fault to apply or null for none. */
    public DynamoDbProxy fault(Function<Request, Fault> faultFunction) {
        this.faults = faultFunction == null ? request -> null : faultFunction;
        return this;
    }

    /** Adds an observer of every answer given to the client; it runs on the proxy's threads, keep it short. */
    public DynamoDbProxy onExchange(Consumer<Exchange> observer) {
        observers.add(observer);
        return this;
    }

    /** Requests of this operation forwarded to the server so far. */
    public long count(String operation) {
        LongAdder adder = counts.get(operation);
        return adder == null ? 0 : adder.sum();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            String operation = target == null ? "" : target.substring(target.indexOf('.') + 1);
            String requestBody = new String(body, StandardCharsets.UTF_8);
            Fault fault = faults.apply(new Request(operation, requestBody));
            if (fault instanceof Fault.AppliedThenError applied) {
                forward(exchange, body, operation);
                fault = Fault.error(applied.status(), applied.awsErrorType(), applied.message());
            }
            if (fault instanceof Fault.Error error) {
                byte[] errorBody = JSON.writeValueAsBytes(JSON.createObjectNode()
                        .put("__type", ERROR_PREFIX + error.awsErrorType())
                        .put("message", error.message()));
                Headers headers = exchange.getResponseHeaders();
                headers.set("Content-Type", JSON_CONTENT_TYPE);
                headers.set("x-amzn-RequestId", "proxy-fault");
                headers.set("x-amz-crc32", crc32(errorBody));
                respond(exchange, error.status(), errorBody, operation, requestBody);
                return;
            }
            if (fault instanceof Fault.Delay delay) {
                // The injected slowness itself: this request is held as a slow server would hold it.
                try {
                    CompletableFuture.runAsync(
                                    () -> {},
                                    CompletableFuture.delayedExecutor(
                                            delay.delay().toNanos(), TimeUnit.NANOSECONDS))
                            .get();
                } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                    Thread.currentThread().interrupt();
                    exchange.sendResponseHeaders(503, -1);
                    return;
                }
            }
            JsonNode heldKeys = null;
            if (fault instanceof Fault.Unprocessed unprocessed && operation.equals("BatchGetItem")) {
                ObjectNode request = (ObjectNode) JSON.readTree(body);
                ObjectNode unprocessedKeys = withholdKeys((ObjectNode) request.get("RequestItems"), unprocessed.n());
                heldKeys = unprocessedKeys;
                if (request.get("RequestItems").isEmpty()) {
                    // Nothing left to forward: answer that nothing was read.
                    ObjectNode nothing = JSON.createObjectNode();
                    nothing.putObject("Responses");
                    nothing.set("UnprocessedKeys", unprocessedKeys);
                    byte[] answer = JSON.writeValueAsBytes(nothing);
                    Headers headers = exchange.getResponseHeaders();
                    headers.set("Content-Type", JSON_CONTENT_TYPE);
                    headers.set("x-amz-crc32", crc32(answer));
                    respond(exchange, 200, answer, operation, requestBody);
                    return;
                }
                body = JSON.writeValueAsBytes(request);
            }
            JsonNode heldTables = null;
            if (fault instanceof Fault.Unprocessed unprocessed && operation.equals("BatchWriteItem")) {
                ObjectNode request = (ObjectNode) JSON.readTree(body);
                ObjectNode unprocessedItems = withhold((ObjectNode) request.get("RequestItems"), unprocessed.n());
                heldTables = unprocessedItems;
                if (request.get("RequestItems").isEmpty()) {
                    // Nothing left to forward: answer that nothing was processed.
                    byte[] answer =
                            JSON.writeValueAsBytes(JSON.createObjectNode().set("UnprocessedItems", unprocessedItems));
                    Headers headers = exchange.getResponseHeaders();
                    headers.set("Content-Type", JSON_CONTENT_TYPE);
                    headers.set("x-amz-crc32", crc32(answer));
                    respond(exchange, 200, answer, operation, requestBody);
                    return;
                }
                body = JSON.writeValueAsBytes(request);
            }
            HttpResponse<byte[]> response = forward(exchange, body, operation);
            byte[] responseBody = response.body();
            boolean changed = false;
            if (heldTables != null && response.statusCode() == 200) {
                ObjectNode answer = (ObjectNode) JSON.readTree(responseBody);
                ObjectNode merged = answer.has("UnprocessedItems")
                                && answer.get("UnprocessedItems").isObject()
                        ? (ObjectNode) answer.get("UnprocessedItems")
                        : answer.putObject("UnprocessedItems");
                heldTables.fields().forEachRemaining(table -> {
                    ArrayNode list = merged.has(table.getKey())
                            ? (ArrayNode) merged.get(table.getKey())
                            : merged.putArray(table.getKey());
                    list.addAll((ArrayNode) table.getValue());
                });
                responseBody = JSON.writeValueAsBytes(answer);
                changed = true;
            }
            if (heldKeys != null && response.statusCode() == 200) {
                ObjectNode answer = (ObjectNode) JSON.readTree(responseBody);
                ObjectNode merged = answer.has("UnprocessedKeys")
                                && answer.get("UnprocessedKeys").isObject()
                        ? (ObjectNode) answer.get("UnprocessedKeys")
                        : answer.putObject("UnprocessedKeys");
                heldKeys.fields().forEachRemaining(table -> {
                    if (merged.has(table.getKey())) {
                        ((ArrayNode) merged.get(table.getKey()).get("Keys"))
                                .addAll((ArrayNode) table.getValue().get("Keys"));
                    } else {
                        merged.set(table.getKey(), table.getValue());
                    }
                });
                responseBody = JSON.writeValueAsBytes(answer);
                changed = true;
            }
            Headers headers = exchange.getResponseHeaders();
            response.headers().map().forEach((name, values) -> {
                String lower = name.toLowerCase(Locale.ROOT);
                if (!RESPONSE_SKIPPED.contains(lower) && !lower.startsWith(":")) {
                    headers.put(name, new ArrayList<>(values));
                }
            });
            if (changed) {
                headers.keySet().removeIf(name -> name.equalsIgnoreCase("x-amz-crc32"));
                headers.set("x-amz-crc32", crc32(responseBody));
            }
            respond(exchange, response.statusCode(), responseBody, operation, requestBody);
        } catch (RuntimeException e) {
            // The client sees a broken connection, as with a failing server.
            throw new IOException(e);
        }
    }

    private HttpResponse<byte[]> forward(HttpExchange exchange, byte[] body, String operation) throws IOException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(
                        target.resolve(exchange.getRequestURI().toString()))
                .timeout(Duration.ofSeconds(60))
                .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().forEach((name, values) -> {
            if (!REQUEST_SKIPPED.contains(name.toLowerCase(Locale.ROOT))) {
                values.forEach(value -> builder.header(name, value));
            }
        });
        counts.computeIfAbsent(operation, o -> new LongAdder()).increment();
        try {
            return client.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private void respond(HttpExchange exchange, int status, byte[] body, String operation, String requestBody)
            throws IOException {
        long received = System.nanoTime();
        if (!observers.isEmpty()) {
            Exchange seen =
                    new Exchange(operation, requestBody, status, new String(body, StandardCharsets.UTF_8), received);
            for (Consumer<Exchange> observer : observers) {
                observer.accept(seen);
            }
        }
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Removes the last n write requests (over all tables, in order) from requestItems and returns them. */
    private static ObjectNode withhold(ObjectNode requestItems, int n) {
        List<String> tables = new ArrayList<>();
        requestItems.fieldNames().forEachRemaining(tables::add);
        ObjectNode held = JSON.createObjectNode();
        int left = n;
        for (int t = tables.size() - 1; t >= 0 && left > 0; t--) {
            String table = tables.get(t);
            ArrayNode writes = (ArrayNode) requestItems.get(table);
            List<JsonNode> taken = new ArrayList<>();
            while (left > 0 && !writes.isEmpty()) {
                taken.add(0, writes.remove(writes.size() - 1));
                left--;
            }
            if (!taken.isEmpty()) {
                held.putArray(table).addAll(taken);
            }
            if (writes.isEmpty()) {
                requestItems.remove(table);
            }
        }
        // Keep the tables in request order in the answer.
        ObjectNode ordered = JSON.createObjectNode();
        for (String table : tables) {
            if (held.has(table)) {
                ordered.set(table, held.get(table));
            }
        }
        return ordered;
    }

    /**
     * Takes the last {@code n} keys out of a BatchGetItem's {@code RequestItems} (tables without keys left go)
     * and returns them as its {@code UnprocessedKeys}: per table, the request's entry with those keys.
     */
    private static ObjectNode withholdKeys(ObjectNode requestItems, int n) {
        List<String> tables = new ArrayList<>();
        requestItems.fieldNames().forEachRemaining(tables::add);
        ObjectNode held = JSON.createObjectNode();
        int left = n;
        for (int t = tables.size() - 1; t >= 0 && left > 0; t--) {
            String table = tables.get(t);
            ObjectNode entry = (ObjectNode) requestItems.get(table);
            ArrayNode keys = (ArrayNode) entry.get("Keys");
            List<JsonNode> taken = new ArrayList<>();
            while (left > 0 && !keys.isEmpty()) {
                taken.add(0, keys.remove(keys.size() - 1));
                left--;
            }
            if (!taken.isEmpty()) {
                ObjectNode unprocessed = entry.deepCopy();
                unprocessed.putArray("Keys").addAll(taken);
                held.set(table, unprocessed);
            }
            if (keys.isEmpty()) {
                requestItems.remove(table);
            }
        }
        ObjectNode ordered = JSON.createObjectNode();
        for (String table : tables) {
            if (held.has(table)) {
                ordered.set(table, held.get(table));
            }
        }
        return ordered;
    }

    static String crc32(byte[] body) {
        CRC32 crc = new CRC32();
        crc.update(body);
        return Long.toString(crc.getValue());
    }
}
