package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;
import io.mqttdynamo.support.TestMqttClient;

/**
 * What a stop leaves with the broker, asked the broker itself: after a SIGTERM with
 * {@code end-sessions-on-stop=always} the broker has no session for the client id any more (MQTT 5 and
 * 3.1.1), with {@code never} it keeps it for the pod's successor. No DynamoDB is needed for that: nothing
 * is published.
 */
class SessionEndIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private final List<PackagedService> services = new ArrayList<>();
    private Process mosquitto;
    private int brokerPort;

    @BeforeEach
    void startBroker() throws Exception {
        brokerPort = LocalDynamoDbResource.freePort();
        mosquitto = OwnMosquitto.start(brokerPort);
    }

    @AfterEach
    void stopAll() {
        services.forEach(PackagedService::close);
        mosquitto.destroy();
    }

    @Test
    void aStopForGoodEndsTheSessionsWithMqtt5AndMqtt311() throws Exception {
        String v5 = stopped("always", "5");
        assertThat(sessionPresent5(v5 + "-" + IngestChannels.MESSAGES))
                .as("MQTT 5: DISCONNECT with expiry 0")
                .isFalse();
        String v3 = stopped("always", "3.1.1");
        assertThat(sessionPresent311(v3 + "-" + IngestChannels.MESSAGES))
                .as("3.1.1: a clean-session connect")
                .isFalse();
    }

    @Test
    void anyOtherStopKeepsThem() throws Exception {
        String kept = stopped("never", "auto");
        assertThat(sessionPresent5(kept + "-" + IngestChannels.MESSAGES)).isTrue();
    }

    /** A topic changed between two runs of one session takes effect: the resumed MQTT 5 session subscribes again. */
    @Test
    void aResumedSessionTakesUpAChangedTopic() throws Exception {
        String clientId = "topic-change-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> env = CrashRecoveryIT.environment(
                clientId, brokerPort, "topic-change/" + clientId + "/before/#", LocalDynamoDbResource.freePort());
        env.put("MQTT_DYNAMO_STORE_DRAIN_TIMEOUT", "PT2S");
        PackagedService first = PackagedService.start(env, "session-end-it-before");
        services.add(first);
        await("subscribed").atMost(TIMEOUT).until(() -> first.channelConnected(IngestChannels.MESSAGES, clientId));
        assertThat(first.stop()).isTrue();

        String after = "topic-change/" + clientId + "/after/#";
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", after);
        PackagedService second = PackagedService.start(env, "session-end-it-after");
        services.add(second);
        await("subscribed to the changed topic")
                .atMost(TIMEOUT)
                .until(() -> second.log().contains("MQTT channel messages subscribed to " + after));
        try (TestMqttClient publisher = TestMqttClient.connect("topic-change-pub", brokerPort)) {
            publisher.publish("topic-change/" + clientId + "/after/x", "on the new topic", 1, false);
        }
        await("received on the changed topic")
                .atMost(TIMEOUT)
                .until(() -> second.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}") >= 1);
    }

    /** Starts the packaged service, waits until it is subscribed, stops it (SIGTERM); its client id base. */
    private String stopped(String endSessions, String protocol) throws Exception {
        String clientId = "session-end-" + UUID.randomUUID().toString().substring(0, 8);
        // DynamoDB is not there: nothing needs storing, the sessions only have to be subscribed.
        Map<String, String> env = CrashRecoveryIT.environment(
                clientId, brokerPort, "session-end/" + clientId + "/#", LocalDynamoDbResource.freePort());
        env.put("MQTT_DYNAMO_BROKER_END_SESSIONS_ON_STOP", endSessions);
        env.put("MQTT_DYNAMO_BROKER_PROTOCOL_VERSION", protocol);
        env.put("MQTT_DYNAMO_STORE_DRAIN_TIMEOUT", "PT2S");
        PackagedService service = PackagedService.start(env, "session-end-it-" + services.size());
        services.add(service);
        await("subscribed").atMost(TIMEOUT).until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));
        assertThat(service.stop()).isTrue();
        return clientId;
    }

    private boolean sessionPresent5(String clientId) {
        Mqtt5BlockingClient client = MqttClient.builder()
                .useMqttVersion5()
                .identifier(clientId)
                .serverHost("127.0.0.1")
                .serverPort(brokerPort)
                .buildBlocking();
        boolean present = client.connectWith()
                .cleanStart(false)
                .sessionExpiryInterval(60)
                .send()
                .isSessionPresent();
        client.disconnect();
        return present;
    }

    private boolean sessionPresent311(String clientId) {
        Mqtt3BlockingClient client = MqttClient.builder()
                .useMqttVersion3()
                .identifier(clientId)
                .serverHost("127.0.0.1")
                .serverPort(brokerPort)
                .buildBlocking();
        boolean present = client.connectWith().cleanSession(false).send().isSessionPresent();
        client.disconnect();
        return present;
    }
}
