package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * on_retain_lookup on the embedded broker: {@code POST /api/retained/restore} republishes the mqtt_retain
 * rows the broker lacks (with the retain flag, not stored again) and stores the retained messages the
 * table lacks.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class RetainedSyncEmbeddedTest extends EmbeddedBrokerTest {

    /** Longer than the base's: these flows take several rounds through the broker and the tables. */
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private void storedRow(String topic, AttributeValue payload, String msgId) throws Exception {
        dynamo.putItem(b -> b.tableName("mqtt_retain")
                        .item(Map.of(
                                "topic",
                                AttributeValue.fromS(topic),
                                "msgid",
                                AttributeValue.fromS(msgId),
                                "qos",
                                AttributeValue.fromN("1"),
                                "sender",
                                AttributeValue.fromS("earlier"),
                                "retain",
                                AttributeValue.fromN("1"),
                                "arrived",
                                AttributeValue.fromN("1700000000"),
                                "payload",
                                payload)))
                .get(10, TimeUnit.SECONDS);
    }

    /** Clears retained topics on the broker (and so in mqtt_retain), so that other tests' pages stay small. */
    private void clear(String... topics) {
        try (TestMqttClient cleaner = TestMqttClient.connect("sync_clean_" + run, PORT)) {
            for (String topic : topics) {
                cleaner.publish(topic, new byte[0], 1, true);
            }
        }
        for (String topic : topics) {
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", topic).isEmpty());
        }
    }

    /** One run, once the one at start-up (the embedded broker is new, so it compares) has ended. */
    private static JsonPath restore() {
        await().atMost(TIMEOUT)
                .until(() -> !given().get("/api/retained/restore")
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath()
                        .getBoolean("running"));
        return given().post("/api/retained/restore")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    private static JsonPath progress() {
        return given().get("/api/retained/restore")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    @Inject
    WritePipeline pipeline;

    @Inject
    ItemMapper items;

    /** What a comparison stores for a topic the table lacked is not written over a row stored meanwhile. */
    @Test
    void aComparisonsWriteNeverReplacesARowStoredMeanwhile() throws Exception {
        String stored = "sync/" + run + "/stored-meanwhile";
        String missing = "sync/" + run + "/still-missing";
        storedRow(stored, AttributeValue.fromS("newer, from ingest"), new EmqxMsgId().next());
        EmqxMsgId ids = new EmqxMsgId();
        pipeline.store(List.of(
                        items.retainedIfAbsent(new BrokerEvent.MessagePublished(
                                ids.next(),
                                stored,
                                1,
                                true,
                                "",
                                "older, from the broker's collection".getBytes(StandardCharsets.UTF_8),
                                1)),
                        items.retainedIfAbsent(new BrokerEvent.MessagePublished(
                                ids.next(),
                                missing,
                                2,
                                true,
                                "",
                                "from the broker's collection".getBytes(StandardCharsets.UTF_8),
                                1))))
                .await()
                .atMost(Duration.ofSeconds(10));
        assertThat(tables.item("mqtt_retain", "topic", stored)
                        .orElseThrow()
                        .get("payload")
                        .s())
                .isEqualTo("newer, from ingest");
        Map<String, AttributeValue> written =
                tables.item("mqtt_retain", "topic", missing).orElseThrow();
        assertThat(written.get("payload").s()).isEqualTo("from the broker's collection");
        assertThat(written.get("qos").n()).isEqualTo("2");
        dynamo.deleteItem(b -> b.tableName("mqtt_retain").key(Map.of("topic", AttributeValue.fromS(stored))))
                .get(10, TimeUnit.SECONDS);
        dynamo.deleteItem(b -> b.tableName("mqtt_retain").key(Map.of("topic", AttributeValue.fromS(missing))))
                .get(10, TimeUnit.SECONDS);
    }

    /** An HTTP client that gives up (a proxy's time-out) does not end the run it started. */
    @Test
    void aRunGoesOnWhenItsCallerHangsUp() throws Exception {
        await().atMost(TIMEOUT).until(() -> !progress().getBoolean("running"));
        long before = progress().getLong("startedAt");
        try (Socket caller = new Socket("localhost", RestAssured.port)) {
            caller.getOutputStream()
                    .write(("POST /api/retained/restore HTTP/1.1\r\nHost: localhost\r\n" + "Content-Length: 0\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            caller.getOutputStream().flush();
            await().atMost(TIMEOUT).until(() -> progress().getLong("startedAt") > before);
        }
        JsonPath ended =
                await().atMost(TIMEOUT).until(RetainedSyncEmbeddedTest::progress, p -> !p.getBoolean("running"));
        assertThat(ended.getString("phase")).isEqualTo("done");
        assertThat(ended.getString("error")).isNull();
    }

    @Test
    void rowsTheBrokerLacksAreRepublishedWithTheRetainFlagAndNotStoredAgain() throws Exception {
        EmqxMsgId ids = new EmqxMsgId();
        String textId = ids.next();
        byte[] binary = {(byte) 0xff, 0, (byte) 0x80};
        storedRow("sync/" + run + "/text", AttributeValue.fromS("from the table"), textId);
        storedRow("sync/" + run + "/binary", AttributeValue.fromB(SdkBytes.fromByteArray(binary)), ids.next());

        JsonPath report = restore();
        assertThat(report.getInt("republished")).isGreaterThanOrEqualTo(2);
        JsonPath progress = given().get("/api/retained/restore")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertThat(progress.getString("phase")).isEqualTo("done");
        assertThat(progress.getBoolean("running")).isFalse();
        assertThat(progress.getInt("republished")).isEqualTo(report.getInt("republished"));
        assertThat(progress.getInt("tableRetained")).isEqualTo(report.getInt("tableRetained"));
        assertThat(progress.getLong("finishedAt")).isGreaterThanOrEqualTo(progress.getLong("startedAt"));

        try (TestMqttClient subscriber = TestMqttClient.connect("sync_sub_" + run, PORT)) {
            subscriber.subscribe("sync/" + run + "/#", 1);
            await().atMost(TIMEOUT).until(() -> subscriber.received().size() == 2);
            Map<String, Mqtt5Publish> byTopic = new java.util.HashMap<>();
            subscriber.received().forEach(p -> byTopic.put(p.getTopic().toString(), p));
            assertThat(byTopic.get("sync/" + run + "/text").isRetain()).isTrue();
            assertThat(new String(byTopic.get("sync/" + run + "/text").getPayloadAsBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("from the table");
            assertThat(byTopic.get("sync/" + run + "/binary").getPayloadAsBytes())
                    .isEqualTo(binary);
            assertThat(byTopic.get("sync/" + run + "/text").getQos().getCode()).isEqualTo(1);

            // A message published after the republished ones is stored; the republished ones were not stored again.
            subscriber.publish("sync/" + run + "/marker", "marker", 1, true);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", "sync/" + run + "/marker")
                            .isPresent());
        }
        assertThat(tables.item("mqtt_retain", "topic", "sync/" + run + "/text")
                        .orElseThrow()
                        .get("msgid")
                        .s())
                .isEqualTo(textId);
        assertThat(tables.topicMsgIds("sync/" + run + "/text")).isEmpty();

        // In step now: a second run finds nothing to do.
        JsonPath again = restore();
        assertThat(again.getInt("stored")).isZero();
        assertThat(again.getInt("republished")).isZero();
        clear("sync/" + run + "/text", "sync/" + run + "/binary", "sync/" + run + "/marker");
    }

    @Test
    void retainedMessagesTheTableLacksAreStored() throws Exception {
        String topic = "lost/" + run;
        try (TestMqttClient publisher = TestMqttClient.connect("lost_pub_" + run, PORT)) {
            publisher.publish(topic, "kept by the broker", 1, true);
        }
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_retain", "topic", topic).isPresent());
        dynamo.deleteItem(b -> b.tableName("mqtt_retain").key(Map.of("topic", AttributeValue.fromS(topic))))
                .get(10, TimeUnit.SECONDS);

        JsonPath report = restore();
        assertThat(report.getInt("stored")).isGreaterThanOrEqualTo(1);
        Map<String, AttributeValue> row = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_retain", "topic", topic).orElse(null), r -> r != null);
        assertThat(row.get("payload").s()).isEqualTo("kept by the broker");
        assertThat(row.get("retain").n()).isEqualTo("1");
        assertThat(row.get("qos").n()).isEqualTo("1");
        EmqxMsgId.decode(row.get("msgid").s());
        clear(topic);
    }

    /** A topic over DynamoDB's 2,048-byte key limit cannot have a row: it must not fail the whole comparison. */
    @Test
    void aRetainedTopicTooLongForAKeyDoesNotFailTheComparison() throws Exception {
        String tooLong = "long/" + run + "/" + "t".repeat(2100);
        String topic = "beside-long/" + run;
        try (TestMqttClient publisher = TestMqttClient.connect("long_pub_" + run, PORT)) {
            publisher.publish(tooLong, "no key can hold its topic", 1, true);
            publisher.publish(topic, "kept by the broker", 1, true);
        }
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_retain", "topic", topic).isPresent());
        dynamo.deleteItem(b -> b.tableName("mqtt_retain").key(Map.of("topic", AttributeValue.fromS(topic))))
                .get(10, TimeUnit.SECONDS);
        try {
            restore();
            JsonPath ended =
                    await().atMost(TIMEOUT).until(RetainedSyncEmbeddedTest::progress, p -> !p.getBoolean("running"));
            assertThat(ended.getString("phase")).isEqualTo("done");
            assertThat(tables.item("mqtt_retain", "topic", topic)).isPresent();
        } finally {
            try (TestMqttClient cleaner = TestMqttClient.connect("long_clean_" + run, PORT)) {
                cleaner.publish(tooLong, new byte[0], 1, true);
            }
            clear(topic);
        }
    }
}
