package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.store.local.DynaliteServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Points a test application at a real local DynamoDB-compatible server (dynalite) with no table in it. With the
 * init argument {@code seed-config=true} the endpoint is given the way the EMQX backend's configuration names it
 * ({@code backend.dynamo.pool1.server}).
 * <p>
 * One server per test JVM, started by the first application that needs it and stopped when the JVM ends: each
 * {@link #start()} deletes every table, so each application (one per test profile) finds the server as a new
 * one would be, without the cost of starting Node.js again. Tests of one profile share the application and its
 * tables, as they always did: they keep apart by their run id in topics and client ids.
 */
public class LocalDynamoDbResource implements QuarkusTestResourceLifecycleManager {

    // Kept in a system property: profiles' resources are loaded by different class loaders.
    private static final String ENDPOINT = "io.mqttdynamo.test.dynalite.endpoint";
    private static final Duration CLEAR_TIMEOUT = Duration.ofSeconds(30);

    private boolean seedConfig;

    @Override
    public void init(Map<String, String> initArgs) {
        seedConfig = Boolean.parseBoolean(initArgs.getOrDefault("seed-config", "false"));
    }

    @Override
    public Map<String, String> start() {
        String endpoint = sharedServer();
        deleteAllTables(endpoint);
        return seedConfig
                ? Map.of(
                        "backend.dynamo.pool1.server",
                        endpoint,
                        "backend.dynamo.region",
                        "eu-west-1",
                        "backend.dynamo.pool1.pool_size",
                        "8",
                        "backend.dynamo.pool1.aws_access_key_id",
                        "seed-key-id",
                        "backend.dynamo.pool1.aws_secret_access_key",
                        "seed-secret")
                : Map.of(
                        "quarkus.dynamodb.endpoint-override",
                        endpoint,
                        "quarkus.dynamodb.aws.region",
                        "us-west-2",
                        "quarkus.dynamodb.aws.credentials.type",
                        "static",
                        "quarkus.dynamodb.aws.credentials.static-provider.access-key-id",
                        "test",
                        "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key",
                        "test");
    }

    @Override
    public void stop() {
        // The server outlives the application: the next one empties it, the JVM's end stops it.
    }

    /** This JVM's server, started on first use; stopped by {@link DynaliteServer}'s shutdown hook. */
    static String sharedServer() {
        synchronized (System.class) {
            String endpoint = System.getProperty(ENDPOINT);
            if (endpoint == null) {
                try {
                    endpoint = DynaliteServer.start(
                                    Path.of("local-dynamodb"), "127.0.0.1", freePort(), Optional.empty())
                            .endpoint();
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException("cannot start the local DynamoDB server: " + e.getMessage(), e);
                }
                System.setProperty(ENDPOINT, endpoint);
            }
            return endpoint;
        }
    }

    /**
     * Deletes every table of the server at {@code endpoint} and returns once none is left. Plain HTTP requests in
     * DynamoDB's JSON protocol: each test profile's class loader would load and start the SDK's client anew for it
     * (seconds), where a handful of requests take milliseconds. dynalite checks that a request is signed, not the
     * signature.
     */
    static void deleteAllTables(String endpoint) {
        HttpClient http = HttpClient.newHttpClient();
        // dynalite removes a deleted table after --deleteTableMs (20 ms); until then it lists it, DELETING.
        await("no table left on " + endpoint)
                .atMost(CLEAR_TIMEOUT)
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    List<String> tables = tableNames(call(http, endpoint, "ListTables", "{}"));
                    for (String table : tables) {
                        // A table already being deleted answers ResourceInUseException: it is gone soon anyway.
                        call(http, endpoint, "DeleteTable", "{\"TableName\":\"" + table + "\"}");
                    }
                    return tables.isEmpty();
                });
    }

    private static String call(HttpClient http, String endpoint, String action, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/x-amz-json-1.0")
                .header("X-Amz-Target", "DynamoDB_20120810." + action)
                .header(
                        "Authorization",
                        "AWS4-HMAC-SHA256 Credential=test/20260101/us-west-2/dynamodb/aws4_request, "
                                + "SignedHeaders=host, Signature=0")
                .header("X-Amz-Date", "20260101T000000Z")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The names in a ListTables answer: {@code {"TableNames":["a","b"]}}. */
    private static List<String> tableNames(String listTablesAnswer) throws IOException {
        JsonNode names = JSON.readTree(listTablesAnswer).get("TableNames");
        if (names == null || !names.isArray()) {
            throw new IllegalStateException("not a ListTables answer: " + listTablesAnswer);
        }
        List<String> tables = new ArrayList<>();
        names.forEach(name -> tables.add(name.asText()));
        return tables;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Ports handed out in this JVM: a port is free until its user binds it, so two calls could get one. */
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    /** A TCP port nobody listens on right now, and not handed out before in this JVM. */
    public static int freePort() {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket socket = new ServerSocket(0)) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("no free TCP port found");
    }
}
