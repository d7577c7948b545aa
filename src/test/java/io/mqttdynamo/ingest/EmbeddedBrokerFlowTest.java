package io.mqttdynamo.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Every write hook end to end: real MQTT clients on the embedded broker (which emits EMQX 5 events and
 * envelopes), the service's own MQTT sessions, and a real DynamoDB-compatible server; items are read
 * back and compared with the EMQX backend's shapes.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class EmbeddedBrokerFlowTest extends EmbeddedBrokerTest {

    @Test
    void onClientConnectedAndDisconnectedKeepTheClientRow() {
        String clientId = "mqttjs_" + run;
        long before = System.currentTimeMillis() / 1000;
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            Map<String, AttributeValue> online = await().atMost(TIMEOUT)
                    .until(
                            () -> tables.item("mqtt_client", "clientid", clientId)
                                    .orElse(null),
                            i -> i != null);
            // the seed's attributes, the shard of the indexes of online clients and of client ids, and the last
            // update's token with what it replaced (exact counting under retries)
            assertThat(online.keySet())
                    .containsExactlyInAnyOrder(
                            "clientid",
                            "node",
                            "connect_state",
                            "online_at",
                            "offline_at",
                            "online_shard",
                            "client_shard",
                            "write_token",
                            "previous_client_shard",
                            "previous_connect_state");
            assertThat(online.get("node").s()).isEqualTo("mqtt-dynamo@127.0.0.1");
            assertThat(online.get("connect_state").n()).isEqualTo("1");
            assertThat(online.get("offline_at").n()).isEqualTo("0");
            assertThat(Long.parseLong(online.get("online_at").n()))
                    .isBetween(before, System.currentTimeMillis() / 1000);
        }
        Map<String, AttributeValue> offline = await().atMost(TIMEOUT)
                .until(
                        () -> tables.item("mqtt_client", "clientid", clientId).orElseThrow(),
                        i -> i.get("connect_state").n().equals("0"));
        assertThat(Long.parseLong(offline.get("offline_at").n()))
                .isGreaterThanOrEqualTo(Long.parseLong(offline.get("online_at").n()))
                .isLessThanOrEqualTo(System.currentTimeMillis() / 1000);
        // offline: out of the online index, still in the client id index
        assertThat(offline.keySet())
                .containsExactlyInAnyOrder(
                        "clientid",
                        "node",
                        "connect_state",
                        "online_at",
                        "offline_at",
                        "client_shard",
                        "write_token",
                        "previous_client_shard",
                        "previous_connect_state");
        assertThat(offline.get("previous_connect_state").n()).isEqualTo("1");
    }

    @Test
    void subscriptionsAreInsertedAndDeleted() {
        String clientId = "sub_" + run;
        String filter = "sensors/" + run + "/+/temp";
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            client.subscribe(filter, 1);
            Map<String, AttributeValue> row = await().atMost(TIMEOUT)
                    .until(
                            () -> tables.item("mqtt_sub", "clientid", clientId, "topic", filter)
                                    .orElse(null),
                            i -> i != null);
            assertThat(row)
                    .containsOnly(
                            Map.entry("clientid", AttributeValue.fromS(clientId)),
                            Map.entry("topic", AttributeValue.fromS(filter)),
                            Map.entry("qos", AttributeValue.fromN("1")));
            client.unsubscribe(filter);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", filter)
                            .isEmpty());
        }
    }

    @Test
    void onMessagePublishStoresTheMessageAndMapsItsTopic() {
        String topic = "testtopic/" + run;
        long before = System.currentTimeMillis() / 1000;
        try (TestMqttClient publisher = TestMqttClient.connect("pub_" + run, PORT)) {
            publisher.publish(topic, "not stored: QoS 0", 0, false);
            publisher.publish(topic, "{ \"msg\": \"Hello, World!\" }", 1, false);
        }
        String msgId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> message = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), i -> i != null);
        assertThat(message.keySet())
                .containsExactlyInAnyOrder("msgid", "topic", "qos", "sender", "retain", "arrived", "payload");
        assertThat(message.get("topic").s()).isEqualTo(topic);
        assertThat(message.get("qos").n()).isEqualTo("1");
        assertThat(message.get("sender").s()).isEqualTo("pub_" + run);
        assertThat(message.get("retain").n()).isEqualTo("0");
        assertThat(message.get("payload").s()).isEqualTo("{ \"msg\": \"Hello, World!\" }");
        assertThat(Long.parseLong(message.get("arrived").n())).isBetween(before, System.currentTimeMillis() / 1000);
        // EMQX-style id: decodes to a GUID whose timestamp is the publish time.
        assertThat(EmqxMsgId.timestampMicros(msgId) / 1_000_000).isBetween(before, System.currentTimeMillis() / 1000);
        assertThat(tables.topicMsgIds(topic)).containsExactly(msgId);
    }

    @Test
    void onMessageRetainStoresAndOnRetainDeleteClearsTheRetainedMessage() {
        String topic = "retained/" + run;
        try (TestMqttClient publisher = TestMqttClient.connect("mqttjs_r" + run, PORT)) {
            publisher.publish(topic, "{ \"msg\": \"Hello, World!\" }", 0, true);
            Map<String, AttributeValue> retained = await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", topic).orElse(null), i -> i != null);
            assertThat(retained.keySet())
                    .containsExactlyInAnyOrder("topic", "msgid", "qos", "sender", "retain", "arrived", "payload");
            assertThat(retained.get("retain").n()).isEqualTo("1");
            assertThat(retained.get("qos").n()).isEqualTo("0");
            assertThat(retained.get("sender").s()).isEqualTo("mqttjs_r" + run);
            assertThat(retained.get("payload").s()).isEqualTo("{ \"msg\": \"Hello, World!\" }");
            EmqxMsgId.decode(retained.get("msgid").s());

            publisher.publish(topic, new byte[0], 1, true);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", topic).isEmpty());
        }
    }

    @Test
    void onMessageAckedForQueueRecordsTheAckAndConsumesTheMessage() {
        String topic = "queue/" + run;
        String subscriberId = "mqttjs_s" + run;
        try (TestMqttClient subscriber = TestMqttClient.connect(subscriberId, PORT);
                TestMqttClient publisher = TestMqttClient.connect("mqttjs_p" + run, PORT)) {
            subscriber.subscribe(topic, 1);
            publisher.publish(topic, "to be acked", 1, false);
            await().atMost(TIMEOUT).until(() -> subscriber.received().size() == 1);

            Map<String, AttributeValue> acked = await().atMost(TIMEOUT)
                    .until(
                            () -> tables.item("mqtt_acked", "topic", topic, "clientid", subscriberId)
                                    .orElse(null),
                            i -> i != null);
            assertThat(acked.keySet()).containsExactlyInAnyOrder("topic", "clientid", "msgid");
            String msgId = acked.get("msgid").s();
            // The ack's id is the message's id: both come from the broker's GUID.
            Map<String, AttributeValue> message = await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), m -> m != null);
            assertThat(message.get("payload").s()).isEqualTo("to be acked");
            await().atMost(TIMEOUT).until(() -> !tables.topicMsgIds(topic).contains(msgId));

            // on_acked_delete: unsubscribing removes the client's ack row of that topic.
            subscriber.unsubscribe(topic);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_acked", "topic", topic, "clientid", subscriberId)
                            .isEmpty());
        }
    }

    @Test
    void binaryPayloadsAreStoredAsBinaryAndLargeOnesWhole() {
        String topic = "binary/" + run;
        byte[] binary = {(byte) 0xff, (byte) 0xfe, 0x00, (byte) 0x80, 'a'};
        byte[] large = new byte[300 * 1024];
        Arrays.fill(large, (byte) 'x');
        try (TestMqttClient publisher = TestMqttClient.connect("bin_" + run, PORT)) {
            publisher.publish(topic, binary, 1, false);
            publisher.publish(topic + "/large", large, 1, false);
        }
        String binaryId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> stored = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", binaryId).orElse(null), i -> i != null);
        assertThat(stored.get("payload").b().asByteArray()).isEqualTo(binary);
        assertThat(stored.get("payload").s()).isNull();

        String largeId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic + "/large"), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> storedLarge = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", largeId).orElse(null), i -> i != null);
        assertThat(storedLarge.get("payload").s())
                .hasSize(large.length)
                .isEqualTo(new String(large, StandardCharsets.US_ASCII));
    }

    @Test
    void payloadsTooLargeForAnItemAreStoredWithoutPayloadAndFlagged() {
        String topic = "huge/" + run;
        byte[] huge = new byte[500 * 1024];
        Arrays.fill(huge, (byte) 'y');
        try (TestMqttClient publisher = TestMqttClient.connect("huge_" + run, PORT)) {
            publisher.publish(topic, huge, 1, true);
        }
        String msgId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> message = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), i -> i != null);
        assertThat(message).doesNotContainKey("payload");
        assertThat(message.get("payload_truncated").n()).isEqualTo("1");
        assertThat(message.get("payload_size").n()).isEqualTo(Integer.toString(huge.length));
        assertThat(tables.item("mqtt_retain", "topic", topic))
                .hasValueSatisfying(
                        r -> assertThat(r.get("payload_truncated").n()).isEqualTo("1"));
    }

    @Test
    void malformedEnvelopesAreCountedAndSkippedWithoutStoppingTheStream() {
        String topic = "after-bad/" + run;
        try (TestMqttClient client = TestMqttClient.connect("bad_" + run, PORT)) {
            client.publish(EventTopics.MESSAGE_PUBLISH, "{not json", 1, false);
            client.publish(
                    EventTopics.MESSAGE_PUBLISH,
                    new byte[] {'{', '"', 't', 'o', 'p', 'i', 'c', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'},
                    1,
                    false);
            client.publish(EventTopics.MESSAGE_PUBLISH, "{\"qos\": 1}", 1, false);
            client.publish(
                    EventTopics.MESSAGE_ACKED, "{\"id\": \"xyz\", \"topic\": \"t\", \"clientid\": \"c\"}", 1, false);
            client.publish(topic, "still flowing", 1, false);
        }
        await().atMost(TIMEOUT).until(() -> !tables.topicMsgIds(topic).isEmpty());
        String metrics = given().get("/q/metrics").asString();
        assertThat(PrometheusText.value(
                        metrics, "mqtt_dynamo_events_rejected_total{channel=\"messages\",reason=\"invalid_json\"}"))
                .isGreaterThanOrEqualTo(2);
        assertThat(PrometheusText.value(
                        metrics, "mqtt_dynamo_events_rejected_total{channel=\"messages\",reason=\"missing_field\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(PrometheusText.value(
                        metrics, "mqtt_dynamo_events_rejected_total{channel=\"acks\",reason=\"invalid_id\"}"))
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void aTopicsMsgIdSetKeepsOnlyTheNewestIdsPastItsCap() {
        String topic = "busy/" + run;
        int published = EmbeddedBrokerProfile.TOPIC_MSG_IDS_CAP + 20;
        double trimmedBefore = trimmed();
        try (TestMqttClient publisher = TestMqttClient.connect("busy_" + run, PORT)) {
            for (int i = 0; i < published; i++) {
                publisher.publish(topic, "message " + i, 1, false);
            }
        }
        await().atMost(TIMEOUT)
                .until(() -> tables.scan("mqtt_msg").stream()
                                .filter(m -> m.get("topic").s().equals(topic))
                                .count()
                        == published);
        List<String> newestFirst = tables.scan("mqtt_msg").stream()
                .filter(m -> m.get("topic").s().equals(topic))
                .map(m -> m.get("msgid").s())
                .sorted(Comparator.comparing(EmqxMsgId::decode).reversed())
                .toList();
        // Trimmed in steps: the set holds the newest ids, never more than the cap.
        await().atMost(TIMEOUT).untilAsserted(() -> {
            List<String> kept = tables.topicMsgIds(topic);
            assertThat(kept).hasSizeBetween(1, EmbeddedBrokerProfile.TOPIC_MSG_IDS_CAP);
            assertThat(kept).containsExactlyInAnyOrderElementsOf(newestFirst.subList(0, kept.size()));
            // Each id is trimmed, and counted, once.
            assertThat(trimmed() - trimmedBefore).isEqualTo(published - kept.size());
        });
    }

    /** The service measures publish-to-persisted itself: a histogram with p50 and p99 per channel. */
    @Test
    void storedMessagesAreTimedFromTheBrokerToDynamoDb() {
        String topic = "timed/" + run;
        String count = "mqtt_dynamo_persist_latency_seconds_count{channel=\"messages\"}";
        double before = PrometheusText.value(given().get("/q/metrics").asString(), count);
        try (TestMqttClient publisher = TestMqttClient.connect("timed_" + run, PORT)) {
            for (int i = 0; i < 3; i++) {
                publisher.publish(topic, "m" + i, 1, false);
            }
        }
        await().atMost(TIMEOUT)
                .until(() -> PrometheusText.value(given().get("/q/metrics").asString(), count) >= before + 3);
        String metrics = given().get("/q/metrics").asString();
        double p99 = PrometheusText.value(
                metrics, "mqtt_dynamo_persist_latency_seconds{channel=\"messages\",quantile=\"0.99\"}");
        assertThat(p99).isPositive().isLessThan(TIMEOUT.toSeconds());
        assertThat(metrics).contains("mqtt_dynamo_persist_latency_seconds_bucket{channel=\"messages\"");
    }

    private static double trimmed() {
        return PrometheusText.value(
                given().get("/q/metrics").then().statusCode(200).extract().asString(),
                "mqtt_dynamo_set_members_trimmed_total{table=\"mqtt_topic_msg_map\"}");
    }

    @Test
    void theEmbeddedBrokerSplitsASharedSubscriptionAmongItsMembers() {
        String filter = "$share/workers-" + run + "/jobs/" + run + "/#";
        try (TestMqttClient first = TestMqttClient.connect("worker1_" + run, PORT);
                TestMqttClient second = TestMqttClient.connect("worker2_" + run, PORT);
                TestMqttClient publisher = TestMqttClient.connect("boss_" + run, PORT)) {
            first.subscribe(filter, 1);
            second.subscribe(filter, 1);
            for (int i = 0; i < 6; i++) {
                publisher.publish("jobs/" + run + "/" + i, "job " + i, 1, false);
            }
            await().atMost(TIMEOUT)
                    .until(() -> first.received().size() + second.received().size() == 6);
            assertThat(first.received()).isNotEmpty();
            assertThat(second.received()).isNotEmpty();
        }
    }

    @Test
    void readinessReportsBrokerAndDynamoDb() {
        var health = given().get("/q/health/ready").then().extract().jsonPath();
        assertThat(health.getString("status")).isEqualTo("UP");
        assertThat(health.getList("checks.name", String.class)).contains("mqtt-broker", "dynamodb");
        assertThat(health.getString("checks.find { it.name == 'dynamodb' }.data.tables"))
                .isEqualTo("active");
        assertThat(health.getString("checks.find { it.name == 'mqtt-broker' }.status"))
                .isEqualTo("UP");
        assertThat(given().get("/q/health/ready").asString()).contains("connected as mqtt-dynamo-test-messages");
    }
}
