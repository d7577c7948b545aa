package io.mqttdynamo.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A local HTTP server answering the subscribe endpoints of EMQX's REST API as EMQX documents them:
 * v5 {@code POST /api/v5/clients/{clientid}/subscribe/bulk} (200 with the subscriptions, or with succeed and
 * failed lists when some failed; 404 CLIENTID_NOT_FOUND, also from a node without the client before EMQX 5.7.2;
 * 401 BAD_API_KEY_OR_SECRET), v5 {@code GET /api/v5/clients/{clientid}} and v4 {@code POST /api/v4/mqtt/subscribe_batch}
 * ({@code {"code": 0, "data": [...]}}, code 112 for an unknown client, 401). It keeps every request, knows
 * which clients are connected, and can be told to fail the next requests of a client (a status, or no
 * answer at all).
 */
public final class FakeEmqxApi implements AutoCloseable {

    /** A request as received. */
    public record Request(String method, String rawPath, String authorization, JsonNode body) {}

    /** Instead of answering: this status, or {@code 0} for no answer (the connection stays open). */
    public static final int NO_ANSWER = 0;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Set<String> connected = ConcurrentHashMap.newKeySet();
    private final Map<String, Deque<Integer>> failures = new ConcurrentHashMap<>();
    private final List<HttpExchange> unanswered = new CopyOnWriteArrayList<>();
    private volatile String acceptedAuthorization;
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> otherNode = new ConcurrentHashMap<>();

    public FakeEmqxApi(int port, String key, String secret) throws IOException {
        acceptedAuthorization = basic(key, secret);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/api/", this::handle);
        server.start();
    }

    public static String basic(String key, String secret) {
        return "Basic " + Base64.getEncoder().encodeToString((key + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    /** EMQX knows the client (it is connected or its session is kept). */
    public void connect(String clientId) {
        connected.add(clientId);
    }

    /** The next requests for {@code clientId} get these statuses ({@link #NO_ANSWER}: none), in order. */
    public void failNext(String clientId, Integer... statuses) {
        failures.put(clientId, new ArrayDeque<>(List.of(statuses)));
    }

    /** Subscriptions to this filter fail, as EMQX reports them: 200 with succeed and failed lists. */
    public void refuseFilter(String filter) {
        refused.add(filter);
    }

    /**
     * The next subscribe requests for {@code clientId} land on a node that does not hold the client: EMQX before
     * 5.7.2 answers 404 CLIENTID_NOT_FOUND, although the cluster knows the client.
     */
    public void otherNodeNext(String clientId, int requests) {
        otherNode.put(clientId, new java.util.concurrent.atomic.AtomicInteger(requests));
    }

    /** The key is revoked: every request gets 401. */
    public void revokeKey() {
        acceptedAuthorization = "revoked";
    }

    /** The key is accepted again. */
    public void restoreKey(String key, String secret) {
        acceptedAuthorization = basic(key, secret);
    }

    public List<Request> requests() {
        return requests;
    }

    /** Requests whose path names the client (v5) or whose body does (v4). */
    public List<Request> requestsFor(String clientId) {
        return requests.stream()
                .filter(r -> r.rawPath().contains("/clients/")
                        ? r.rawPath()
                                .equals("/api/v5/clients/"
                                        + java.net.URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                                                .replace("+", "%20")
                                        + "/subscribe/bulk")
                        : r.body().findValuesAsText("clientid").contains(clientId))
                .toList();
    }

    private void handle(HttpExchange exchange) throws IOException {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            byte[] bytes = in.readAllBytes();
            body = bytes.length == 0 ? JSON.nullNode() : JSON.readTree(bytes);
        }
        String path = exchange.getRequestURI().getRawPath();
        Request request = new Request(
                exchange.getRequestMethod(), path, exchange.getRequestHeaders().getFirst("Authorization"), body);
        requests.add(request);
        if (!acceptedAuthorization.equals(request.authorization())) {
            answer(exchange, 401, "{\"code\":\"BAD_API_KEY_OR_SECRET\",\"message\":\"Check api_key/api_secret\"}");
            return;
        }
        boolean v5 = path.startsWith("/api/v5/clients/") && path.endsWith("/subscribe/bulk");
        boolean v4 = path.equals("/api/v4/mqtt/subscribe_batch");
        if ("GET".equals(request.method()) && path.startsWith("/api/v5/clients/") && !v5) {
            String clientId =
                    java.net.URLDecoder.decode(path.substring("/api/v5/clients/".length()), StandardCharsets.UTF_8);
            if (connected.contains(clientId)) {
                answer(
                        exchange,
                        200,
                        JSON.createObjectNode()
                                .put("clientid", clientId)
                                .put("connected", true)
                                .put("node", "emqx@127.0.0.1")
                                .toString());
            } else {
                answer(exchange, 404, "{\"code\":\"CLIENTID_NOT_FOUND\",\"message\":\"Client ID not found\"}");
            }
            return;
        }
        if (!"POST".equals(request.method()) || !v5 && !v4) {
            answer(exchange, 404, "{\"code\":\"NOT_FOUND\",\"message\":\"Request Path Not Found\"}");
            return;
        }
        String clientId = v5
                ? java.net.URLDecoder.decode(
                        path.substring("/api/v5/clients/".length(), path.length() - "/subscribe/bulk".length()),
                        StandardCharsets.UTF_8)
                : body.path(0).path("clientid").asText();
        Deque<Integer> planned = failures.get(clientId);
        Integer failure = planned == null ? null : planned.poll();
        if (failure != null) {
            if (failure == NO_ANSWER) {
                unanswered.add(exchange);
            } else {
                answer(exchange, failure, "{\"code\":\"INTERNAL_ERROR\",\"message\":\"service unavailable\"}");
            }
            return;
        }
        if (v5) {
            java.util.concurrent.atomic.AtomicInteger elsewhere = otherNode.get(clientId);
            if (!connected.contains(clientId) || elsewhere != null && elsewhere.getAndDecrement() > 0) {
                answer(exchange, 404, "{\"code\":\"CLIENTID_NOT_FOUND\",\"message\":\"Client ID not found\"}");
                return;
            }
            ArrayNode made = JSON.createArrayNode();
            ArrayNode failed = JSON.createArrayNode();
            for (JsonNode subscription : body) {
                if (refused.contains(subscription.path("topic").asText())) {
                    ObjectNode refusal = failed.addObject();
                    refusal.putArray("data")
                            .add(clientId)
                            .add(subscription.path("topic").asText())
                            .add(subscription.deepCopy());
                    refusal.put("reason", "{error,not_authorized}");
                    continue;
                }
                ObjectNode item = ((ObjectNode) subscription.deepCopy())
                        .put("clientid", clientId)
                        .put("node", "emqx@127.0.0.1");
                made.add(item);
            }
            if (failed.isEmpty()) {
                answer(exchange, 200, made.toString());
            } else {
                ObjectNode partial = JSON.createObjectNode();
                partial.set("succeed", made);
                partial.set("failed", failed);
                answer(exchange, 200, partial.toString());
            }
        } else {
            ObjectNode answer = JSON.createObjectNode().put("code", 0);
            ArrayNode data = answer.putArray("data");
            for (JsonNode subscription : body) {
                data.addObject()
                        .put("topic", subscription.path("topic").asText())
                        .put(
                                "code",
                                connected.contains(subscription.path("clientid").asText()) ? 0 : 112);
            }
            answer(exchange, 200, answer.toString());
        }
    }

    private static void answer(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @Override
    public void close() {
        unanswered.forEach(HttpExchange::close);
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
