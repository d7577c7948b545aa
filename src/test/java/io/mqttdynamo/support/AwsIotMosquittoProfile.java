package io.mqttdynamo.support;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The service against the machine's Mosquitto with AWS IoT Core's event dialect: Mosquitto lets clients
 * publish to {@code $aws/events/...} (only {@code $SYS} is refused), so the tests publish AWS's lifecycle
 * events on their real topics. Millisecond times, a configured node name.
 */
public class AwsIotMosquittoProfile implements QuarkusTestProfile {

    public static final String NODE = "iot.eu-west-1";

    @Override
    public Map<String, String> getConfigOverrides() {
        String run = TestRun.id();
        String prefix = "mqttdynamo-aws/" + run;
        return Map.of(
                "mqtt-dynamo.broker.host",
                "127.0.0.1",
                "mqtt-dynamo.broker.port",
                Integer.toString(MosquittoProfile.PORT),
                "mqtt-dynamo.broker.client-id",
                "mqttdynamo-aws-" + run,
                "mqtt-dynamo.broker.session-expiry",
                "PT2M",
                "mqtt-dynamo.events.dialect",
                "aws-iot",
                "mqtt-dynamo.events.node",
                NODE,
                "mqtt-dynamo.messages.topic",
                prefix + "/data/#",
                "mqtt-dynamo.acks.topic",
                prefix + "/acks",
                "mqtt-dynamo.time-unit",
                "milliseconds",
                // Mosquitto is shared: its retained messages are other runs', not for this table.
                "mqtt-dynamo.retained.restore",
                "false");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(LocalDynamoDbResource.class));
    }
}
