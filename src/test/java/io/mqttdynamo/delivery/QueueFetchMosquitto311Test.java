package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.QueueFetchMosquittoProfile;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_message_fetch_for_queue beside Mosquitto in raw mode over MQTT 3.1.1: without user properties the
 * service recognises the broker's copies of its republications by topic and payload and stores none of
 * them (each once: two stored messages alike give two copies), while a message published anew with the same
 * payload afterwards is stored; at most
 * {@code queue-fetch.max-count} messages, the oldest.
 */
@QuarkusTest
@TestProfile(QueueFetchMosquittoProfile.Mqtt311.class)
class QueueFetchMosquitto311Test extends QueueFetchOnMosquitto {

    @Test
    void copiesAreRecognisedByContentEachOnce() {
        String topic = storedTopic("v3-jobs-" + run);
        // Two stored messages alike: each copy must be taken for one of them, not both for one.
        List<String> originals = stored(topic, "same job", "same job", "job C");
        try (TestMqttClient worker = subscriberWith(2, "v3-worker-" + run, topic);
                TestMqttClient publisher = TestMqttClient.connect("v3-pub2-" + run, PORT)) {
            assertThat(payloads(worker, topic))
                    .as("the oldest two (queue-fetch.max-count)")
                    .containsExactly("same job", "same job");

            // The same payload again, from a client, once the copies were taken: a new message, stored.
            publisher.publish(topic, "same job", 1, false);
            publisher.publish(topic, "job D", 1, false);
            List<String> after = idsOnceStored(topic, "job D");
            assertThat(after)
                    .as("3 originals, the new alike one and job D; no copy")
                    .hasSize(5)
                    .containsAll(originals);
        }
    }
}
