package io.mqttdynamo.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import io.mqttdynamo.store.local.DynaliteServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts a real local DynamoDB-compatible server (dynalite) on a free port for a test application and
 * points the DynamoDB client at it. With the init argument {@code seed-config=true} the endpoint is given
 * the way the EMQX backend's configuration names it ({@code backend.dynamo.pool1.server}).
 */
public class LocalDynamoDbResource implements QuarkusTestResourceLifecycleManager {

    private DynaliteServer server;
    private boolean seedConfig;

    @Override
    public void init(Map<String, String> initArgs) {
        seedConfig = Boolean.parseBoolean(initArgs.getOrDefault("seed-config", "false"));
    }

    @Override
    public Map<String, String> start() {
        try {
            server = DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", freePort(), Optional.empty());
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot start the local DynamoDB server: " + e.getMessage(), e);
        }
        return seedConfig
                ? Map.of("backend.dynamo.pool1.server", server.endpoint(),
                        "backend.dynamo.region", "eu-west-1",
                        "backend.dynamo.pool1.pool_size", "8",
                        "backend.dynamo.pool1.aws_access_key_id", "seed-key-id",
                        "backend.dynamo.pool1.aws_secret_access_key", "seed-secret")
                : Map.of("quarkus.dynamodb.endpoint-override", server.endpoint(),
                        "quarkus.dynamodb.aws.region", "us-west-2",
                        "quarkus.dynamodb.aws.credentials.type", "static",
                        "quarkus.dynamodb.aws.credentials.static-provider.access-key-id", "test",
                        "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key", "test");
    }

    @Override
    public void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** Ports handed out in this JVM: a port is free until its user binds it, so two calls could get one. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

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
