package io.mqttdynamo.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.config.ConfigCheck;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.hooks.Republications;
import io.mqttdynamo.store.ItemMapper;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** Each replica knows every replica's own connections, not only its own (two StatefulSet pods, and others). */
class ReplicaConnectionsTest {

    /** The connections a replica with client-id base {@code base} opens. */
    private static String[] connectionsOf(String base) {
        return new String[] {
            base + "-client-events",
            base + "-messages",
            base + "-acks",
            base + "-cluster",
            base + "-retained",
            base + "-retained-3f2a9c1d-77",
            base + "-retained-scan-1a2b3c4d",
            base + "-probe-9e8d7c6b"
        };
    }

    private static SmallRyeConfig config(String... pairs) {
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().withMapping(MqttDynamoConfig.class);
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            values.put(pairs[i], pairs[i + 1]);
        }
        return builder.withDefaultValues(values).build();
    }

    private static BrokerSessions sessions(SmallRyeConfig config) {
        return new BrokerSessions(config.getConfigMapping(MqttDynamoConfig.class), new SimpleMeterRegistry());
    }

    @Test
    void aStatefulSetPodKnowsTheOtherPodsConnections() {
        BrokerSessions pod0 = sessions(config("mqtt-dynamo.broker.client-id", "mqtt-dynamo-0"));
        for (String own : connectionsOf("mqtt-dynamo-0")) {
            assertThat(pod0.isOwnClient(own)).as(own).isTrue();
        }
        for (String other : connectionsOf("mqtt-dynamo-1")) {
            assertThat(pod0.isOwnClient(other)).as(other).isTrue();
        }
        for (String other : connectionsOf("mqtt-dynamo-12")) {
            assertThat(pod0.isOwnClient(other)).as(other).isTrue();
        }
    }

    @Test
    void theBrokersUsersAreNoConnectionsOfTheService() {
        BrokerSessions pod0 = sessions(config("mqtt-dynamo.broker.client-id", "mqtt-dynamo-0"));
        for (String user : new String[] {
            "sensor-1",
            "mqtt-dynamo-1",
            "mqtt-dynamo-x-messages",
            "other-1-messages",
            "mqtt-dynamo-1-messages-2",
            "mqtt-dynamo-1-probe",
            "mqtt-dynamo-01-acks-x",
            "mqtt-dynamo-messages"
        }) {
            assertThat(pod0.isOwnClient(user)).as(user).isFalse();
        }
    }

    @Test
    void aConfiguredPrefixCoversReplicasNamedOtherwise() {
        BrokerSessions east = sessions(
                config("mqtt-dynamo.broker.client-id", "ingest-east", "mqtt-dynamo.broker.replica-prefix", "ingest-"));
        for (String other : connectionsOf("ingest-west")) {
            assertThat(east.isOwnClient(other)).as(other).isTrue();
        }
        assertThat(east.isOwnClient("ingest-west")).isFalse();
        assertThat(east.isOwnClient("sensor-west-messages")).isFalse();
    }

    @Test
    void aPrefixTheClientIdDoesNotStartWithIsRefused() {
        MqttDynamoConfig config = config(
                        "mqtt-dynamo.broker.client-id", "east-ingest", "mqtt-dynamo.broker.replica-prefix", "ingest-")
                .getConfigMapping(MqttDynamoConfig.class);
        assertThat(ConfigCheck.problems(config)).anyMatch(p -> p.startsWith("mqtt-dynamo.broker.client-id must"));
    }

    @Test
    void replicasNamedAfterTheirHostsKnowEachOther() {
        BrokerSessions host = sessions(config());
        for (String other : connectionsOf("mqtt-dynamo-some-other-host")) {
            assertThat(host.isOwnClient(other)).as(other).isTrue();
        }
        assertThat(host.isOwnClient("mqtt-dynamo-sensor")).isFalse();
    }

    @Test
    void anotherReplicasSessionsAndRetainedRepublicationsAreNotStored() {
        SmallRyeConfig config =
                config("mqtt-dynamo.broker.client-id", "mqtt-dynamo-0", "mqtt-dynamo.messages.mode", "envelope");
        MqttDynamoConfig mapping = config.getConfigMapping(MqttDynamoConfig.class);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HookRouter router = new HookRouter(
                new HookRules(mapping, config),
                new ItemMapper(mapping, registry),
                mapping,
                sessions(config),
                new Republications(),
                registry);
        long now = System.currentTimeMillis();
        for (String other : connectionsOf("mqtt-dynamo-1")) {
            assertThat(router.writesFor(
                            new BrokerEvent.ClientConnected(other, "emqx@n1", "", now, BrokerEvent.NO_VERSION)))
                    .as(other)
                    .isEmpty();
        }
        // Replica 1 puts a retained message back: already in mqtt_retain, with the msgid it has there.
        byte[] payload = "21.5".getBytes(StandardCharsets.UTF_8);
        assertThat(router.writesFor(new BrokerEvent.MessagePublished(
                        "Mjg4NDYzOTExMTcxNzQ5MTQwMjU1NzgyMDgxNzU1ODczMjJ",
                        "rooms/1/temp",
                        1,
                        true,
                        "mqtt-dynamo-1-retained-3f2a9c1d-77",
                        payload,
                        now)))
                .isEmpty();
        // A user's session and message are stored.
        assertThat(router.writesFor(
                        new BrokerEvent.ClientConnected("sensor-1", "emqx@n1", "", now, BrokerEvent.NO_VERSION)))
                .hasSize(1);
        assertThat(router.writesFor(new BrokerEvent.MessagePublished(
                        "Mjg4NDY0MDMyMDA2MzI0MjA4MTcxNDYwNjk0MjQ5MzA4MTJ",
                        "rooms/1/temp",
                        1,
                        true,
                        "sensor-1",
                        payload,
                        now)))
                .hasSize(3);
    }
}
