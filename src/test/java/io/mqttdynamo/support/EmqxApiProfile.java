package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The service against the machine's Mosquitto with EMQX 5 client events (on a topic of the test's, since
 * Mosquitto refuses client publishes to {@code $SYS}) and EMQX's REST API answered by a {@link FakeEmqxApi}
 * on {@link #apiPort()}: on_subscribe_lookup restores subscriptions through it.
 */
public class EmqxApiProfile implements QuarkusTestProfile {

    public static final String KEY = "mqtt-dynamo-restore";
    public static final String SECRET = "s3cret-never-logged-7f1c";

    public static int apiPort() {
        synchronized (System.class) {
            String port = System.getProperty("io.mqttdynamo.test.api-port");
            if (port == null) {
                port = Integer.toString(LocalDynamoDbResource.freePort());
                System.setProperty("io.mqttdynamo.test.api-port", port);
            }
            return Integer.parseInt(port);
        }
    }

    public static String prefix() {
        return "mqttdynamo-api/" + TestRun.id();
    }

    /** The event dialect, and so the API version. */
    protected String dialect() {
        return "emqx5";
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        String run = TestRun.id();
        Map<String, String> config = new HashMap<>();
        config.put("mqtt-dynamo.broker.host", "127.0.0.1");
        config.put("mqtt-dynamo.broker.port", Integer.toString(MosquittoProfile.PORT));
        config.put("mqtt-dynamo.broker.client-id", "mqttdynamo-api-" + dialect() + "-" + run);
        config.put("mqtt-dynamo.broker.session-expiry", "PT2M");
        config.put("mqtt-dynamo.events.dialect", dialect());
        // Both of EMQX's forms of client events: $SYS-shaped ones under sys/brokers/, the rule engine's on sys/rule.
        config.put("mqtt-dynamo.events.topic", prefix() + "/sys/#");
        config.put("mqtt-dynamo.messages.topic", prefix() + "/data/#");
        config.put("mqtt-dynamo.acks.topic", prefix() + "/acks");
        config.put("mqtt-dynamo.broker.api.url", "http://127.0.0.1:" + apiPort());
        config.put("mqtt-dynamo.broker.api.key", KEY);
        config.put("mqtt-dynamo.broker.api.secret", SECRET);
        config.put("mqtt-dynamo.broker.api.timeout", "PT1S");
        config.put("mqtt-dynamo.broker.api.retries", "2");
        // Mosquitto is shared: its retained messages are other runs', not for this table.
        config.put("mqtt-dynamo.retained.restore", "false");
        return config;
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(LocalDynamoDbResource.class));
    }

    /** The same with EMQX 4's events and API. */
    public static class Emqx4 extends EmqxApiProfile {
        @Override
        protected String dialect() {
            return "emqx4";
        }
    }
}
