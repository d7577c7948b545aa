package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The service against the machine's Mosquitto (127.0.0.1:1883) in raw mode through a shared
 * subscription, configured the EMQX backend's way ({@code backend.dynamo.*}), with millisecond times.
 * Mosquitto refuses client publishes to {@code $SYS}, so the client events come on a topic of the test's.
 * Tests run it as {@link QueueFetchMosquittoProfile}, which adds the queue fetch: one application for both.
 */
public class MosquittoProfile implements QuarkusTestProfile {

    public static final int PORT = 1883;

    public static String prefix() {
        return "mqttdynamo-it/" + TestRun.id();
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        String run = TestRun.id();
        Map<String, String> config = new HashMap<>();
        config.put("mqtt-dynamo.broker.host", "127.0.0.1");
        config.put("mqtt-dynamo.broker.port", Integer.toString(PORT));
        config.put("mqtt-dynamo.broker.client-id", "mqttdynamo-it-" + run);
        config.put("mqtt-dynamo.broker.session-expiry", "PT2M");
        config.put("mqtt-dynamo.events.topic", prefix() + "/sys/brokers/+/clients/#");
        config.put("mqtt-dynamo.messages.mode", "raw");
        config.put("mqtt-dynamo.messages.topic", "$share/mqttdynamo-" + run + "/" + prefix() + "/data/#");
        config.put("mqtt-dynamo.acks.topic", prefix() + "/acks");
        config.put("mqtt-dynamo.time-unit", "milliseconds");
        String hook = "{\"topic\": \"%s\", \"action\": {\"function\": \"%s\"}, \"pool\": \"pool1\"}";
        config.put("backend.dynamo.hook.client.connected.1", String.format(hook, "#", "on_client_connected"));
        config.put("backend.dynamo.hook.client.disconnected.1", String.format(hook, "#", "on_client_disconnected"));
        config.put(
                "backend.dynamo.hook.message.publish.1",
                String.format(hook, prefix() + "/data/stored/#", "on_message_publish"));
        config.put("backend.dynamo.hook.message.publish.2", String.format(hook, "#", "on_message_retain"));
        config.put("backend.dynamo.hook.message.publish.3", String.format(hook, "#", "on_retain_delete"));
        return config;
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(LocalDynamoDbResource.class, Map.of("seed-config", "true")));
    }
}
