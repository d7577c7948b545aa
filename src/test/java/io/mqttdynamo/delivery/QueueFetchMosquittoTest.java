package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.QueueFetchMosquittoProfile;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_message_fetch_for_queue beside Mosquitto in raw mode over MQTT 5: a new QoS 1 subscriber gets the
 * topic's unconsumed messages again, oldest first, published on their topic with the service's mark; the
 * service's own raw subscription takes the copies without storing them again.
 */
@QuarkusTest
@TestProfile(QueueFetchMosquittoProfile.class)
class QueueFetchMosquittoTest extends QueueFetchOnMosquitto {

    @Test
    void aNewSubscriberGetsTheUnconsumedMessagesAgainAndTheCopiesAreNotStored() {
        String topic = storedTopic("jobs-" + run);
        List<String> originals = stored(topic, "job 1", "job 2");
        try (TestMqttClient worker = subscriberWith(2, "queue-worker-" + run, topic);
                TestMqttClient publisher = TestMqttClient.connect("queue-pub2-" + run, PORT)) {
            assertThat(payloads(worker, topic)).containsExactly("job 1", "job 2");
            assertThat(worker.received())
                    .extracting(QueueFetchMosquittoTest::mark)
                    .as("each copy names its stored original")
                    .containsExactlyElementsOf(originals);

            // A later message of the topic is stored after the copies would have been: once it is there, the
            // copies' absence is final.
            publisher.publish(topic, "job 3", 1, false);
            assertThat(idsOnceStored(topic, "job 3"))
                    .as("the originals and job 3, no copy")
                    .hasSize(3)
                    .containsAll(originals);
        }
    }

    /**
     * EMQX 4's and EMQX 5's rule-engine subscription events say nothing of is_new: a subscription reported again
     * in the same connection (the restore making what the client had just made) is not fetched again.
     */
    @Test
    void aSubscriptionReportedAgainInTheSameConnectionIsFetchedOnce() {
        String topic = storedTopic("twice-" + run);
        stored(topic, "once 1", "once 2");
        String clientId = "queue-twice-" + run;
        try (TestMqttClient worker = subscriberWith(2, clientId, topic)) {
            double renewedBefore = renewedSkips();
            reportSubscribed(clientId, topic, 1);
            await().atMost(TIMEOUT).until(() -> renewedSkips() >= renewedBefore + 1);
            assertThat(payloads(worker, topic)).containsExactly("once 1", "once 2");
        }
    }

    private static double renewedSkips() {
        return PrometheusText.value(
                given().get("/q/metrics").asString(),
                "mqtt_dynamo_queued_messages_fetches_skipped_total{reason=\"renewed\"}");
    }

    /** The republishing connections (of any replica) are the service's own: no client rows, no fetches. */
    @Test
    void theRepublishingConnectionsAreNoClients() {
        String republisher = Republisher.ID_PREFIX + run;
        String person = "queue-person-" + run;
        double before = clientEventsTaken();
        try (TestMqttClient broker = TestMqttClient.connect("fake-emqx-conn-" + run, PORT)) {
            for (String clientId : List.of(republisher, person)) {
                broker.publish(
                        MosquittoProfile.prefix() + "/sys/brokers/emqx@node1/clients/" + clientId + "/connected",
                        "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"ts\":" + System.currentTimeMillis()
                                + "}",
                        1,
                        false);
            }
        }
        // Acknowledged once stored: both events taken and none open means every write is done.
        await().atMost(TIMEOUT).until(() -> clientEventsTaken() >= before + 2);
        assertThat(tables.item("mqtt_client", "clientid", person)).isPresent();
        assertThat(tables.item("mqtt_client", "clientid", republisher)).isEmpty();
    }

    /** Client events received and acknowledged; -1 while some are not. */
    private static double clientEventsTaken() {
        String page = given().get("/q/metrics").asString();
        double open = PrometheusText.value(page, "mqtt_dynamo_unacknowledged_messages{channel=\"client-events\"}");
        return open == 0
                ? PrometheusText.value(page, "mqtt_dynamo_events_received_total{channel=\"client-events\"}")
                : -1;
    }

    private static String mark(Mqtt5Publish publish) {
        return publish.getUserProperties().asList().stream()
                .filter(p -> p.getName().toString().equals(Republisher.MARKER))
                .map(p -> p.getValue().toString())
                .findFirst()
                .orElse("(no mark)");
    }
}
