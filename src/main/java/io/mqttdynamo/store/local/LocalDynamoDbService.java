package io.mqttdynamo.store.local;

import java.nio.file.Path;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Runs the local DynamoDB-compatible server when {@code mqtt-dynamo.local-dynamodb.enabled} is true (dev
 * mode's default), before anything talks to DynamoDB; stops it with the application. Built into dev mode
 * and tests only.
 */
@ApplicationScoped
@IfBuildProfile(anyOf = {"dev", "test"})
public class LocalDynamoDbService {


    private final MqttDynamoConfig.LocalDynamoDb config;
    private DynaliteServer server;

    public LocalDynamoDbService(MqttDynamoConfig config) {
        this.config = config.localDynamoDb();
    }

    void onStart(@Observes @Priority(Lifecycle.START_LOCAL_DYNAMODB) StartupEvent event) throws Exception {
        if (!config.enabled()) {
            return;
        }
        server = DynaliteServer.start(Path.of(config.directory()), config.host(), config.port(),
                config.dataPath().map(Path::of));
        Log.infof("local DynamoDB-compatible server (dynalite) at %s%s", server.endpoint(),
                config.dataPath().map(p -> ", data in " + p).orElse(", in memory"));
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_LOCAL_DYNAMODB) ShutdownEvent event) {
        if (server != null) {
            server.close();
        }
    }
}
