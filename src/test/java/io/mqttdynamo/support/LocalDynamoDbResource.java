package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.mqttdynamo.store.local.DynaliteServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

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

    /** Deletes every table of the server at {@code endpoint} and returns once none is left. */
    static void deleteAllTables(String endpoint) {
        try (DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build()) {
            // dynalite removes a deleted table after --deleteTableMs (20 ms); until then it lists it, DELETING.
            await("no table left on " + endpoint)
                    .atMost(CLEAR_TIMEOUT)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> {
                        List<String> tables =
                                dynamo.listTables().get(10, TimeUnit.SECONDS).tableNames();
                        for (String table : tables) {
                            dynamo.deleteTable(b -> b.tableName(table))
                                    .exceptionally(e -> null)
                                    .get(10, TimeUnit.SECONDS);
                        }
                        return tables.isEmpty();
                    });
        }
    }

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
