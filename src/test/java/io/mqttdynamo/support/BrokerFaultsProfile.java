package io.mqttdynamo.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The service in raw mode against a {@link KillableMosquitto} and DynamoDB behind a proxy ({@link StoreFaults}). */
public class BrokerFaultsProfile implements QuarkusTestProfile {

    // MQTT 5 (the nested Mqtt311: 3.1.1) on faults/#; no client events, acks, retained comparison or cluster
    // figures, so that the messages channel is all the service does.

    public static final String TOPIC_ROOT = "faults/";
    public static final int MAX_QUEUED_QOS0 = 200;
    /** Above the writes a second of DynamoDB latency keeps in flight (16 requests of 25), so they do not wait. */
    public static final int MAX_PENDING = 2_000;

    /** The MQTT version setting. */
    protected String protocolVersion() {
        return "5";
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>();
        config.put(
                "mqtt-dynamo.broker.client-id", "faults-v" + protocolVersion().replace(".", "") + "-" + TestRun.id());
        config.put("mqtt-dynamo.broker.protocol-version", protocolVersion());
        config.put("mqtt-dynamo.events.dialect", "none");
        config.put("mqtt-dynamo.acks.topic", "none");
        config.put("mqtt-dynamo.messages.mode", "raw");
        config.put("mqtt-dynamo.messages.topic", TOPIC_ROOT + "#");
        config.put("mqtt-dynamo.retained.restore", "false");
        config.put("mqtt-dynamo.cluster.enabled", "false");
        // QoS 0 messages stored, and few of them waiting at most: a stalled store fills the channel's buffer soon.
        config.put("mqtt-dynamo.messages.store-qos0", "true");
        config.put("mqtt-dynamo.broker.max-queued-qos0", Integer.toString(MAX_QUEUED_QOS0));
        config.put("mqtt-dynamo.store.max-pending", Integer.toString(MAX_PENDING));
        return config;
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(Resource.class));
    }

    /** The same over MQTT 3.1.1. */
    public static class Mqtt311 extends BrokerFaultsProfile {
        @Override
        protected String protocolVersion() {
            return "3.1.1";
        }
    }

    /** dynalite behind the proxy, and the broker. */
    public static class Resource extends LocalDynamoDbResource {

        private DynamoDbProxy proxy;

        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            StoreFaults.clear();
            try {
                proxy = DynamoDbProxy.start(config.get("quarkus.dynamodb.endpoint-override"))
                        .fault(StoreFaults::apply);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start the DynamoDB proxy", e);
            }
            config.put("quarkus.dynamodb.endpoint-override", proxy.endpoint());
            KillableMosquitto.start();
            config.put("mqtt-dynamo.broker.host", "127.0.0.1");
            config.put("mqtt-dynamo.broker.port", Integer.toString(KillableMosquitto.port()));
            return config;
        }

        @Override
        public void stop() {
            KillableMosquitto.kill();
            if (proxy != null) {
                proxy.close();
            }
            StoreFaults.clear();
            super.stop();
        }
    }
}
