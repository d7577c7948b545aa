package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_message_fetch_for_queue on the embedded broker: messages published while nobody subscribed stay
 * unconsumed in mqtt_topic_msg_map; a QoS 1 subscriber gets them, oldest first, and its acknowledgements
 * consume them under their stored ids. A QoS 0 subscriber gets none.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class QueueFetchEmbeddedTest extends EmbeddedBrokerTest {

    private List<String> queue(String topic, String... payloads) {
        try (TestMqttClient publisher = TestMqttClient.connect("queue_pub_" + run + topic.hashCode(), PORT)) {
            for (String payload : payloads) {
                publisher.publish(topic, payload, 1, false);
            }
        }
        return await()
                .atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> ids.size() == payloads.length)
                .stream()
                .sorted(EmqxMsgId.OLDEST_FIRST)
                .toList();
    }

    private static List<String> payloads(TestMqttClient client) {
        return client.received().stream()
                .map(p -> new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))
                .toList();
    }

    @Test
    void aQos1SubscriberGetsTheUnconsumedMessagesAndItsAcksConsumeThem() {
        String topic = "jobs/" + run;
        List<String> ids = queue(topic, "job 1", "job 2");
        String workerId = "worker_" + run;
        try (TestMqttClient worker = TestMqttClient.connect(workerId, PORT)) {
            worker.subscribe(topic, 1);
            await().atMost(TIMEOUT).until(() -> worker.received().size() == 2);
            assertThat(payloads(worker)).containsExactly("job 1", "job 2");
            await().atMost(TIMEOUT).until(() -> tables.topicMsgIds(topic).isEmpty());
            await().atMost(TIMEOUT)
                    .until(
                            () -> tables.item("mqtt_acked", "topic", topic, "clientid", workerId)
                                    .map(i -> i.get("msgid").s())
                                    .orElse(""),
                            ids.get(1)::equals);
        }
    }

    /** EMQX says is_new false for a filter the session holds already; the plugin fetched for new ones only. */
    @Test
    void aRenewedSubscriptionFetchesNothingAgain() {
        String topic = "renewed/" + run;
        queue(topic, "job 1");
        try (TestMqttClient worker = TestMqttClient.connect("renewing_" + run, PORT)) {
            worker.subscribe(topic, 1);
            await().atMost(TIMEOUT).until(() -> worker.received().size() == 1);
            double renewedBefore = renewedSkips();
            worker.subscribe(topic, 1);
            await().atMost(TIMEOUT).until(() -> renewedSkips() >= renewedBefore + 1);
            assertThat(payloads(worker)).containsExactly("job 1");
        }
    }

    private static double renewedSkips() {
        return io.mqttdynamo.support.PrometheusText.value(
                io.restassured.RestAssured.get("/q/metrics").asString(),
                "mqtt_dynamo_queued_messages_fetches_skipped_total{reason=\"renewed\"}");
    }

    @Test
    void aWildcardSubscriberGetsEveryMatchingTopicsMessagesAndAQos0OneNone() {
        queue("fleet/" + run + "/a", "a 1");
        queue("fleet/" + run + "/b", "b 1");
        try (TestMqttClient casual = TestMqttClient.connect("casual_" + run, PORT);
                TestMqttClient worker = TestMqttClient.connect("fleet_worker_" + run, PORT)) {
            casual.subscribe("fleet/" + run + "/+", 0);
            worker.subscribe("fleet/" + run + "/+", 1);
            await().atMost(TIMEOUT).until(() -> worker.received().size() == 2);
            assertThat(payloads(worker)).containsExactlyInAnyOrder("a 1", "b 1");
            await().atMost(TIMEOUT)
                    .until(() -> tables.topicMsgIds("fleet/" + run + "/a").isEmpty()
                            && tables.topicMsgIds("fleet/" + run + "/b").isEmpty());
            try (TestMqttClient publisher = TestMqttClient.connect("fleet_pub_" + run, PORT)) {
                publisher.publish("fleet/" + run + "/c", "live", 1, false);
            }
            await().atMost(TIMEOUT).until(() -> casual.received().size() >= 1);
            assertThat(payloads(casual)).containsExactly("live");
        }
    }
}
