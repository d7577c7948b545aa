package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.QueueFetchMosquittoProfile;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_message_fetch_for_queue in envelope mode, the test playing EMQX's two rules: the envelope of the
 * service's copy (sent by its republisher, under a new id) is not stored, and the acknowledgement of the
 * copy consumes the stored original, whether the ack envelope carries the copy's mark ({@code pub_props})
 * or only the new id.
 */
@QuarkusTest
@TestProfile(QueueFetchMosquittoProfile.Envelopes.class)
class QueueFetchEnvelopeTest extends QueueFetchOnMosquitto {

    private static final AtomicLong LAST_MICROS = new AtomicLong();

    /** A 32-hex EMQX id made now, after the last one (the GUID's first 64 bits are its microsecond time). */
    private static String newHexId() {
        long micros = LAST_MICROS.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis() * 1000));
        return String.format("%016X%016X", micros, ThreadLocalRandom.current().nextLong());
    }

    private static String publishEnvelope(String hexId, String sender, String topic, String payload) {
        return "{\"id\":\"" + hexId + "\",\"clientid\":\"" + sender + "\",\"topic\":\"" + topic
                + "\",\"qos\":1,\"flags\":{\"retain\":false},\"payload\":\"" + payload + "\",\"publish_received_at\":"
                + System.currentTimeMillis() + "}";
    }

    private static String ackEnvelope(String hexId, String subscriber, String sender, String topic, String pubProps) {
        return "{\"id\":\"" + hexId + "\",\"clientid\":\"" + subscriber + "\",\"from_clientid\":\"" + sender
                + "\",\"topic\":\"" + topic + "\",\"qos\":1,\"timestamp\":" + System.currentTimeMillis()
                + (pubProps == null ? "" : ",\"pub_props\":" + pubProps) + "}";
    }

    /** Envelopes the messages channel received and acknowledged. */
    private static double messagesTaken() {
        String page = given().get("/q/metrics").asString();
        double received = PrometheusText.value(page, "mqtt_dynamo_events_received_total{channel=\"messages\"}");
        double open = PrometheusText.value(page, "mqtt_dynamo_unacknowledged_messages{channel=\"messages\"}");
        return open == 0 ? received : -1;
    }

    private static String mark(Mqtt5Publish publish) {
        return publish.getUserProperties().asList().stream()
                .filter(p -> p.getName().toString().equals(Republisher.MARKER))
                .map(p -> p.getValue().toString())
                .findFirst()
                .orElseThrow();
    }

    @Test
    void acksOfTheCopiesConsumeTheOriginals() {
        String topic = storedTopic("env-jobs-" + run);
        String worker = "env-worker-" + run;
        String republisher = Republisher.ID_PREFIX + run;
        try (TestMqttClient emqx = TestMqttClient.connect("env-rules-" + run, PORT);
                TestMqttClient subscriber = TestMqttClient.connect(worker, PORT)) {
            String firstHex = newHexId();
            String secondHex = newHexId();
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(firstHex, "sensor-" + run, topic, "first"),
                    1,
                    false);
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(secondHex, "sensor-" + run, topic, "second"),
                    1,
                    false);
            // Older than queue-fetch.max-age (2 h by default): stays pending, is not published again.
            String staleHex = String.format(
                    "%016X%016X",
                    (System.currentTimeMillis() - 3 * 3600_000L) * 1000,
                    ThreadLocalRandom.current().nextLong());
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(staleHex, "sensor-" + run, topic, "stale"),
                    1,
                    false);
            List<String> all = pendingIds(topic, 3);
            List<String> originals = List.of(EmqxMsgId.fromHex(firstHex), EmqxMsgId.fromHex(secondHex));
            assertThat(all).containsExactly(EmqxMsgId.fromHex(staleHex), originals.get(0), originals.get(1));

            subscriber.subscribe(topic, 1);
            reportSubscribed(worker, topic, 1);
            await().atMost(TIMEOUT).until(() -> payloads(subscriber, topic).size() >= 2);
            assertThat(payloads(subscriber, topic)).as("not the stale one").containsExactly("first", "second");

            // Rule 1 reports the first copy under the broker's new id; rule 2 its ack without pub_props.
            String copyHex = newHexId();
            double taken = messagesTaken();
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(copyHex, republisher, topic, "first"),
                    1,
                    false);
            // EMQX sends the copy's envelope long before the ack's; here the test waits for it to be taken.
            await().atMost(TIMEOUT).until(() -> messagesTaken() > taken);
            emqx.publish(
                    MosquittoProfile.prefix() + "/acks",
                    ackEnvelope(copyHex, worker, republisher, topic, null),
                    1,
                    false);
            await().atMost(TIMEOUT)
                    .until(() -> tables.topicMsgIds(topic), ids -> ids.size() == 2 && !ids.contains(originals.get(0)));
            assertThat(tables.item("mqtt_acked", "topic", topic, "clientid", worker)
                            .orElseThrow()
                            .get("msgid")
                            .s())
                    .isEqualTo(originals.get(0));
            assertThat(tables.item("mqtt_msg", "msgid", EmqxMsgId.fromHex(copyHex)))
                    .as("the copy is not stored")
                    .isEmpty();

            // The second copy's ack names its original in the copy's user property (EMQX's pub_props).
            String secondMark = mark(subscriber.received().get(1));
            emqx.publish(
                    MosquittoProfile.prefix() + "/acks",
                    ackEnvelope(
                            newHexId(),
                            worker,
                            republisher,
                            topic,
                            "{\"User-Property\":{\"" + Republisher.MARKER + "\":\"" + secondMark + "\"}}"),
                    1,
                    false);
            await().atMost(TIMEOUT)
                    .until(() -> tables.topicMsgIds(topic), ids -> ids.equals(List.of(EmqxMsgId.fromHex(staleHex))));
            assertThat(tables.item("mqtt_acked", "topic", topic, "clientid", worker)
                            .orElseThrow()
                            .get("msgid")
                            .s())
                    .isEqualTo(originals.get(1));
        }
    }

    /**
     * MQTT 3.1.1 carries no mark: the copy's ack is mapped through the copy's envelope, which comes on the other
     * channel and may come after the ack. The ack waits for it.
     */
    @Test
    void anAckThatOvertakesItsCopysEnvelopeStillConsumesTheOriginal() {
        String topic = storedTopic("env-early-" + run);
        String worker = "env-early-worker-" + run;
        String republisher = Republisher.ID_PREFIX + run;
        try (TestMqttClient emqx = TestMqttClient.connect("env-early-rules-" + run, PORT);
                TestMqttClient subscriber = TestMqttClient.connect(worker, PORT)) {
            String originalHex = newHexId();
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(originalHex, "sensor-" + run, topic, "early"),
                    1,
                    false);
            String original = pendingIds(topic, 1).get(0);

            subscriber.subscribe(topic, 1);
            reportSubscribed(worker, topic, 1);
            await().atMost(TIMEOUT).until(() -> payloads(subscriber, topic).size() >= 1);

            String copyHex = newHexId();
            emqx.publish(
                    MosquittoProfile.prefix() + "/acks",
                    ackEnvelope(copyHex, worker, republisher, topic, null),
                    1,
                    false);
            emqx.publish(
                    QueueFetchMosquittoProfile.Envelopes.publishTopic(),
                    publishEnvelope(copyHex, republisher, topic, "early"),
                    1,
                    false);
            await().atMost(TIMEOUT).until(() -> tables.topicMsgIds(topic), List::isEmpty);
            assertThat(tables.item("mqtt_acked", "topic", topic, "clientid", worker)
                            .orElseThrow()
                            .get("msgid")
                            .s())
                    .isEqualTo(original);
        }
    }
}
