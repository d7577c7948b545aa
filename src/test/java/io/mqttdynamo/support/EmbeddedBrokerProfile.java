package io.mqttdynamo.support;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The development set-up under test: the embedded broker (EMQX 5 events and envelopes) on a free port,
 * envelope mode, and a local DynamoDB-compatible server.
 */
public class EmbeddedBrokerProfile implements QuarkusTestProfile {

    /** Small, so that a test can overfill a topic's MsgId set. */
    public static final int TOPIC_MSG_IDS_CAP = 5;

    /** One port per test JVM: a system property, since the profile is loaded by more than one class loader. */
    public static int brokerPort() {
        synchronized (System.class) {
            String port = System.getProperty("io.mqttdynamo.test.broker-port");
            if (port == null) {
                port = Integer.toString(LocalDynamoDbResource.freePort());
                System.setProperty("io.mqttdynamo.test.broker-port", port);
            }
            return Integer.parseInt(port);
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "mqtt-dynamo.embedded-broker.enabled", "true",
                "mqtt-dynamo.embedded-broker.port", Integer.toString(brokerPort()),
                "mqtt-dynamo.messages.mode", "envelope",
                "mqtt-dynamo.broker.client-id", "mqtt-dynamo-test",
                "mqtt-dynamo.store.topic-msg-ids-cap", Integer.toString(TOPIC_MSG_IDS_CAP));
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(LocalDynamoDbResource.class));
    }
}
