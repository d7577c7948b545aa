package io.mqttdynamo.support;

import java.io.IOException;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** Points a test application at a Mosquitto of its own ({@link OwnMosquitto}). */
public class OwnMosquittoResource implements QuarkusTestResourceLifecycleManager {

    private Process broker;

    @Override
    public Map<String, String> start() {
        int port = LocalDynamoDbResource.freePort();
        try {
            broker = OwnMosquitto.start(port);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start mosquitto: " + e.getMessage(), e);
        }
        return Map.of("mqtt-dynamo.broker.host", "127.0.0.1", "mqtt-dynamo.broker.port", Integer.toString(port));
    }

    @Override
    public void stop() {
        if (broker != null) {
            broker.destroyForcibly();
        }
    }
}
